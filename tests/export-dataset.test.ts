/** writeDataset on hand-made blocks: untrainable blocks are listed, not silently dropped; gzip is
 * platform-independent; the output verifies. */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../pipeline/config.js";
import { memoryLogger } from "../pipeline/core/log.js";
import { ModelTokenizer } from "../pipeline/core/tokenizer.js";
import { gzipDeterministic, writeDataset } from "../pipeline/export/dataset.js";
import { verifyDataset } from "../pipeline/export/verify.js";

const ROOT = resolve(import.meta.dirname, "..");

async function inputs(exportCfg: Record<string, unknown>) {
  const dir = await mkdtemp(join(tmpdir(), "whp-ds-"));
  const config = validateConfig(
    {
      version: 1,
      run: { name: "hand", outDir: "out" },
      corpus: { forget: ["f"] },
      tokenizer: join(ROOT, "demo", "tokenizer.json"),
      dictionary: "a.csv",
      blockSize: 8,
      seed: 3,
      alpha: 2,
      alphaVariants: [4],
      models: { baseline: { provider: "ngram" }, reinforced: { provider: "ngram" } },
      export: exportCfg,
    },
    join(dir, "whp.config.yaml"),
  );
  const tokenizer = await ModelTokenizer.load(config.tokenizer);
  const ids = [[1, 300, 301, 302], [1, 400, 401], [1, 500, 501, 502, 503]];
  const labels = [
    [[-100, 300, 999, 302], [-100, 300, 998, 302]],
    [[-100, -100, -100], [-100, -100, -100]], // every position masked
    [[-100, 501, -100, 503, 504], [-100, 501, -100, 503, 505]],
  ];
  const blocks = ids.map((input_ids, i) => ({ id: `d#${i}`, doc: "d", index: i, span: [0, 1] as [number, number], input_ids, starts: input_ids.map(() => 0), ends: input_ids.map(() => 0) }));
  const log = memoryLogger();
  return {
    dir,
    log,
    inp: {
      config,
      blocks,
      labels: labels.map((l, i) => ({ id: `d#${i}`, labels: l, uncertified: [0, 0] })),
      aligned: ids.map((input_ids, i) => ({ id: `d#${i}`, translated_ids: input_ids, map: input_ids.map((_, t) => t), forbidden: [], occurrences: [], unaligned: [] })),
      alphas: [2, 4],
      columns: ["labels", "labels_alpha_4"],
      models: { baseline: { provider: "ngram" } },
      topK: 20 as const,
      logitSpace: "logprobs",
      dictionary: { version: 1 as const, source: "a.csv", sha256: "0".repeat(64), entries: [] },
      tokenizer,
      counts: { blocks: 3, tokens: 12, positions: 9, masked: 5, changed: 2, uncertified: [0, 0], anchorOccurrences: 0, unalignedOccurrences: 0 },
      log,
    },
  };
}

describe("writeDataset", () => {
  it("leaves a block with no trained label out of the label layouts, lists it, warns, and the result verifies", async () => {
    const { dir, log, inp } = await inputs({ formats: ["hf", "torchtune", "text"], validationFraction: 0 });
    const stats = await writeDataset(dir, inp);
    expect(stats.skipped).toBe(1);
    expect(log.lines.some((l) => l.startsWith("warning: 1 block(s) with no trained label") && l.includes("d#1"))).toBe(true);
    const manifest = JSON.parse(await readFile(join(dir, "dataset", "manifest.json"), "utf8"));
    expect(manifest.counts.skippedBlocks).toEqual([{ id: "d#1", reason: "no trained label" }]);
    const hf = (await readFile(join(dir, "dataset", "hf", "train.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(hf.map((r) => r.input_ids)).toEqual([[1, 300, 301, 302], [1, 500, 501, 502, 503]]);
    expect(hf[1].labels_alpha_4).toEqual([-100, 501, -100, 503, 505]);
    const tt = (await readFile(join(dir, "dataset", "torchtune", "train.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(tt[1]).toEqual({ tokens: [1, 500, 501, 502, 503], labels: [501, -100, 503, 504, -100] });
    const re = (await readFile(join(dir, "dataset", "reinforcement", "train.jsonl"), "utf8")).trim().split("\n");
    expect(re).toHaveLength(3); // the reinforcement dataset keeps every block
    expect((await verifyDataset(join(dir, "dataset"))).problems).toEqual([]);
  });

  it("writes the same bytes twice, and gzip headers name no platform", async () => {
    const a = await inputs({ gzip: true, validationFraction: 0.4 });
    const b = await inputs({ gzip: true, validationFraction: 0.4 });
    await writeDataset(a.dir, a.inp);
    await writeDataset(b.dir, b.inp);
    for (const f of ["manifest.json", "README.md", "hf/train.jsonl.gz", "hf/validation.jsonl.gz"]) {
      expect(await readFile(join(a.dir, "dataset", f))).toEqual(await readFile(join(b.dir, "dataset", f)));
    }
    const gz = gzipDeterministic(Buffer.from("x\n"));
    expect([gz[4], gz[5], gz[6], gz[7], gz[9]]).toEqual([0, 0, 0, 0, 255]);
    expect(gunzipSync(gz).toString()).toBe("x\n");
    expect((await verifyDataset(join(a.dir, "dataset"))).problems).toEqual([]);
  });
});
