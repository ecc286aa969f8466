/**
 * Resume of the labels stage after `logits.chunkBlocks` changed. chunkBlocks is not part of the stage
 * fingerprint (the labels do not depend on it), so a run interrupted under one chunk size and resumed
 * under another finds the old chunk files in the same parts folder, under the same names
 * (chunk-000000.jsonl...), holding other blocks. They must be recomputed, not accepted.
 */
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../pipeline/cli.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

const whp = (fx: Fixture, ...args: string[]) => main(["node", "whp", ...args, "--config", fx.configPath, "--quiet"]);

describe("labels resume after chunkBlocks changed", () => {
  it("leftover chunks made with another chunk size are not accepted; the labels equal a clean run's bytes", async () => {
    const [clean, resumed] = await Promise.all([makeFixture({ logits: { topK: 20, chunkBlocks: 3 } }), makeFixture({ logits: { topK: 20, chunkBlocks: 2 } })]);
    expect(await whp(clean, "run")).toBe(0);

    // Chunks of 2 blocks, as an interrupted chunkBlocks: 2 run leaves them: a shard run of 1 shard
    // writes every chunk and keeps them, and they go where the runner keeps the stage's parts.
    expect(await whp(resumed, "run")).toBe(0);
    const { fingerprint } = JSON.parse(await readFile(join(resumed.runDir, ".whp", "labels.json"), "utf8")) as { fingerprint: string };
    expect(await whp(resumed, "labels", "--shard", "0/1")).toBe(0);
    const shardRoot = join(resumed.runDir, "shards");
    const [shardDir] = await readdir(shardRoot);
    const leftovers = (await readdir(join(shardRoot, shardDir))).filter((f) => /^chunk-\d+\.jsonl$/.test(f));
    expect(leftovers.length).toBeGreaterThan(2);
    const parts = join(resumed.runDir, ".whp", "labels.parts", fingerprint.slice(0, 16));
    await mkdir(parts, { recursive: true });
    for (const f of leftovers) await copyFile(join(shardRoot, shardDir, f), join(parts, f));
    // And a chunk of the right size filed under the wrong number (chunk 1's three blocks named chunk 0):
    // as many rows as expected, but not the expected blocks.
    expect(await whp(clean, "labels", "--shard", "0/1")).toBe(0);
    const [cleanShards] = await readdir(join(clean.runDir, "shards"));
    await copyFile(join(clean.runDir, "shards", cleanShards, "chunk-000001.jsonl"), join(parts, "chunk-000000.jsonl"));
    await rm(join(resumed.runDir, "labels.jsonl"));

    // Resume under chunkBlocks: 3.
    const config = await readFile(resumed.configPath, "utf8");
    expect(config).toContain("chunkBlocks: 2");
    await writeFile(resumed.configPath, config.replace("chunkBlocks: 2", "chunkBlocks: 3"));
    expect(await whp(resumed, "run")).toBe(0);

    for (const name of ["labels.jsonl", "labels-uncertainty.jsonl"]) {
      const [a, b] = await Promise.all([readFile(join(clean.runDir, name), "utf8"), readFile(join(resumed.runDir, name), "utf8")]);
      expect(b === a, `${name} differs from the clean run's`).toBe(true);
    }
  }, 120_000);
});
