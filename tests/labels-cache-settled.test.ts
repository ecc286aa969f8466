/**
 * Cache entries are written in the background (io/cache-queue.ts), so the labels stage settles them
 * before it counts as done: a finished stage's responses are on disk, whatever the disk's pace. Every
 * cache write is slowed here, so a stage that did not wait would return with writes still pending.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { stringify, parse } from "yaml";
import { loadConfig } from "../pipeline/config.js";
import { folderWrites } from "../pipeline/io/cache-queue.js";
import { memoryLogger } from "../pipeline/io/log.js";
import type { NgramModel } from "../pipeline/models/ngram.js";
import { startReferenceServer, type ReferenceServer } from "../pipeline/models/reference-server.js";
import { createContext } from "../pipeline/stage.js";
import { loadSources } from "../pipeline/stages/labels.js";
import { makeFixture } from "./helpers/fixture.js";
import { cli } from "./helpers/capture.js";

vi.mock("../pipeline/io/cache-write.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../pipeline/io/cache-write.js")>();
  return {
    ...real,
    writeRedactedEntry: async (...args: Parameters<typeof real.writeRedactedEntry>) => {
      await new Promise((r) => setTimeout(r, 30));
      return real.writeRedactedEntry(...args);
    },
  };
});

let server: ReferenceServer | undefined;
afterAll(async () => server?.close());

describe("the labels stage and the background cache writes", () => {
  it("returns only when every response it cached is on disk", async () => {
    const fx = await makeFixture();
    expect((await cli("run", "--config", fx.configPath, "--quiet")).code).toBe(0);
    const ctx = createContext(await loadConfig(fx.configPath), memoryLogger());
    const models = (await loadSources(ctx, ["baseline", "reinforced"])) as Record<string, NgramModel>;
    const tok = await ctx.tokenizer();
    server = await startReferenceServer({
      models: Object.fromEntries(Object.entries(models).map(([k, m]) => [k, { source: m, logProb: (h: readonly number[], t: number) => m.logProb(h, t) }])),
      tokenizer: { encodeWithSpecial: async (text: string) => [...tok.info.prefixSpecialIds, ...(await tok.encodeIds(text))] },
    });
    const raw = parse(await readFile(fx.configPath, "utf8"));
    const cfg = join(fx.dir, "http.yaml");
    const urls = [server.url];
    await writeFile(cfg, stringify({ ...raw, run: { name: "http", outDir: "http" }, models: { baseline: { provider: "vllm", model: "baseline", urls }, reinforced: { provider: "vllm", model: "reinforced", urls } } }));
    const r = await cli("run", "--config", cfg);
    expect(r.code, r.stderr).toBe(0);
    const cacheDir = join(fx.dir, "http", ".whp", "cache", "vllm");
    const folder = folderWrites(cacheDir);
    expect([folder.pending.size, folder.unsettled.size]).toEqual([0, 0]);
    expect(folder.written.size).toBeGreaterThan(0);
    let onDisk = 0;
    for (const sub of await readdir(cacheDir)) onDisk += (await readdir(join(cacheDir, sub))).filter((f) => f.endsWith(".rows")).length;
    expect(onDisk).toBe(folder.written.size);
  }, 60_000);
});
