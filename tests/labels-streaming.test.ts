/**
 * The labels stage streams blocks.jsonl and aligned.jsonl together (runner/chunked.ts survey pass):
 * a bad row anywhere, or the two files out of step, stops the stage before any chunk is computed,
 * naming the file and row, and leaves labels.jsonl as it was.
 */
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../pipeline/config.js";
import { createLogger } from "../pipeline/io/log.js";
import { createContext, runStage } from "../pipeline/stage.js";
import { labelsStage } from "../pipeline/stages/labels.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";
import { cli } from "./helpers/labels-review.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
  expect((await cli("run", "--config", fx.configPath, "--quiet")).code).toBe(0);
}, 120_000);

async function failsBeforeWork(edit: (lines: string[]) => string[], file: string, message: RegExp) {
  const path = join(fx.runDir, file);
  const original = await readFile(path, "utf8");
  const labels = await stat(join(fx.runDir, "labels.jsonl"));
  await writeFile(path, edit(original.trimEnd().split("\n")).join("\n") + "\n");
  try {
    const ctx = createContext(await loadConfig(fx.configPath, {}), createLogger({ quiet: true }));
    await expect(runStage(labelsStage, ctx, { force: true })).rejects.toThrow(message);
    // Nothing computed: no chunk in the parts folder; labels.jsonl untouched (same inode and mtime).
    const parts = join(fx.runDir, ".whp", "labels.parts");
    const chunks = (await readdir(parts, { recursive: true }).catch(() => [] as string[])).filter((f) => f.endsWith(".jsonl"));
    expect(chunks).toEqual([]);
    const after = await stat(join(fx.runDir, "labels.jsonl"));
    expect([after.ino, after.mtimeMs]).toEqual([labels.ino, labels.mtimeMs]);
  } finally {
    await writeFile(path, original);
  }
}

describe("labels stage input stream", () => {
  it("a bad block near the end stops it before any chunk, naming file, line and field", async () => {
    await failsBeforeWork((l) => l.map((x, i) => (i === l.length - 2 ? x.replace('"input_ids":[', '"input_ids":["x",') : x)), "blocks.jsonl", /blocks.jsonl line \d+: input_ids.0: expected number/);
  });

  it("aligned.jsonl missing a row is refused, naming the row and both ids", async () => {
    await failsBeforeWork((l) => l.filter((_, i) => i !== 4), "aligned.jsonl", /^aligned.jsonl does not match blocks.jsonl \(row 5: block .*#\d+, aligned .*#\d+\)$/);
  });

  it("aligned.jsonl with a row too many is refused", async () => {
    await failsBeforeWork((l) => [...l, l[0]], "aligned.jsonl", /aligned.jsonl does not match blocks.jsonl \(row \d+: aligned .* has no block\)/);
  });
});
