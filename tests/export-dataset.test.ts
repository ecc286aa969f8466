/** writeDataset on hand-made blocks: untrainable blocks are listed, not silently dropped; gzip is
 * platform-independent; the card states exact numbers; embedded-model labels are marked as
 * demonstration data and served ones are not; the output verifies. */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../pipeline/config.js";
import { memoryLogger } from "../pipeline/io/log.js";
import { ModelTokenizer } from "../pipeline/io/tokenizer.js";
import { gzipDeterministic, writeDataset } from "../pipeline/export/dataset.js";
import { scanRows } from "../pipeline/export/dataset-scan.js";
import { verifyDataset } from "../pipeline/export/verify.js";

const ROOT = resolve(import.meta.dirname, "..");

async function inputs(exportCfg: Record<string, unknown>, opts: { models?: Record<string, Record<string, string>>; blockSize?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "whp-ds-"));
  const config = validateConfig(
    {
      version: 1,
      run: { name: "hand", outDir: "out" },
      corpus: { forget: ["f"] },
      tokenizer: join(ROOT, "demo", "tokenizer.json"),
      dictionary: "a.csv",
      blockSize: opts.blockSize ?? 8,
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
  const labelRows = labels.map((l, i) => ({ id: `d#${i}`, labels: l, uncertified: [0, 0] }));
  const aligned = ids.map((input_ids, i) => ({ id: `d#${i}`, translated_ids: input_ids, map: input_ids.map((_, t) => t), forbidden: [], occurrences: [], unaligned: [] }));
  const log = memoryLogger();
  return {
    dir,
    log,
    inp: {
      config,
      rows: async function* () {
        for (let i = 0; i < blocks.length; i++) yield { block: blocks[i], labels: labelRows[i], aligned: aligned[i] };
      },
      scan: scanRows(labelRows),
      alphas: [2, 4],
      columns: ["labels", "labels_alpha_4"],
      models: opts.models ?? { baseline: { provider: "ngram", name: "baseline" }, reinforced: { provider: "ngram", name: "reinforced" } },
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
    const { dir, log, inp } = await inputs({ formats: ["hf", "torchtune", "torchtune-shifted", "text"], validationFraction: 0 });
    const stats = await writeDataset(dir, inp);
    expect(stats.skipped).toBe(1);
    expect(log.lines.some((l) => l.startsWith("warning: 1 block(s) with no trained label") && l.includes("d#1"))).toBe(true);
    const manifest = JSON.parse(await readFile(join(dir, "dataset", "manifest.json"), "utf8"));
    expect(manifest.counts.skippedBlocks).toEqual([{ id: "d#1", reason: "no trained label" }]);
    const hf = (await readFile(join(dir, "dataset", "hf", "train.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(hf.map((r) => r.input_ids)).toEqual([[1, 300, 301, 302], [1, 500, 501, 502, 503]]);
    expect(hf[1].labels_alpha_4).toEqual([-100, 501, -100, 503, 505]);
    const tt = (await readFile(join(dir, "dataset", "torchtune", "train.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(tt[1]).toEqual({ tokens: [1, 500, 501, 502, 503], labels: [-100, 501, -100, 503, 504] }); // released torchtune: unshifted
    const ts = (await readFile(join(dir, "dataset", "torchtune-shifted", "train.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(ts[1]).toEqual({ tokens: [1, 500, 501, 502, 503], labels: [501, -100, 503, 504, -100] });
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

  it("the card gives the held-out count and its real share, and counts trained and masked labels exactly", async () => {
    const { dir, inp } = await inputs({ validationFraction: 0.05 });
    await writeDataset(dir, inp);
    const card = await readFile(join(dir, "dataset", "README.md"), "utf8");
    // 5% of 3 blocks rounds to 0, and the split holds out one anyway: the card says 1 of 3, not 5%.
    expect(card).toContain("- Block size 8 tokens (at most: a document's last block is shorter); seed 3; 1 of 3 blocks (33.3%) held out for validation (validationFraction 0.05; seeded, by block)");
    const manifest = JSON.parse(await readFile(join(dir, "dataset", "manifest.json"), "utf8"));
    expect(manifest.split).toEqual({ validationFraction: 0.05, train: 2, validation: 1 });
    // Main labels: [-100,300,999,302] [-100,-100,-100] [-100,501,-100,503,504]: 6 trained, 3 masked after
    // position 0, 3 first positions; the run totals passed in (masked: 5) are not what the card counts.
    expect(card).toContain("- 3 blocks, 12 tokens, 9 predicted positions (every token after a block's first)");
    expect(card).toContain("- trained (labels != -100): 6 (66.7%)");
    expect(card).toContain("- masked (-100, anchor-internal or repeated): 3 (33.3%); the first position of each of the 3 blocks is -100 as well (no prediction targets it)");
    expect(card).not.toMatch(/labelled positions/);

    const none = await inputs({ validationFraction: 0 });
    await writeDataset(none.dir, none.inp);
    expect(await readFile(join(none.dir, "dataset", "README.md"), "utf8")).toContain("no blocks held out for validation (validationFraction 0)");
  });

  it("labels from embedded models are marked demonstration-only in the card, the manifest, the log and whp verify", async () => {
    const { dir, log, inp } = await inputs({});
    await writeDataset(dir, inp);
    const manifest = JSON.parse(await readFile(join(dir, "dataset", "manifest.json"), "utf8"));
    expect(manifest.demonstrationOnly).toBe(true);
    expect(manifest.embeddedModels).toEqual([{ role: "baseline", provider: "ngram" }, { role: "reinforced", provider: "ngram" }]);
    const card = await readFile(join(dir, "dataset", "README.md"), "utf8");
    expect(card.split("\n---\n")[1].trimStart()).toMatch(/^# hand: generic-label unlearning data\n\n> \*\*Demonstration data only: do not fine-tune a real model on it\.\*\* The labels were made by whp's embedded sandbox model\(s\) \(baseline: ngram, reinforced: ngram\)/);
    expect(log.lines.some((l) => l.startsWith("warning: export: demonstration data only"))).toBe(true);
    const report = await verifyDataset(join(dir, "dataset"));
    expect(report.problems).toEqual([]);
    expect(report.notes).toEqual([expect.stringMatching(/^demonstration data only: the labels were made by whp's embedded sandbox model\(s\) \(baseline: ngram, reinforced: ngram\)/)]);
  });

  it("labels from served models leave no demonstration note anywhere", async () => {
    const served = { baseline: { provider: "vllm", model: "org/base" }, reinforced: { provider: "sglang", model: "org/reinforced" } };
    const { dir, log, inp } = await inputs({}, { models: served });
    await writeDataset(dir, inp);
    const text = await readFile(join(dir, "dataset", "manifest.json"), "utf8");
    expect(text).not.toMatch(/demonstration|embedded/i);
    expect(await readFile(join(dir, "dataset", "README.md"), "utf8")).not.toMatch(/demonstration|embedded/i);
    expect(log.lines.some((l) => /demonstration/.test(l))).toBe(false);
    expect((await verifyDataset(join(dir, "dataset"))).notes).toEqual([]);
    // One served and one embedded model is still demonstration data.
    const mixed = await inputs({}, { models: { baseline: served.baseline, reinforced: { provider: "ngram", name: "r" } } });
    await writeDataset(mixed.dir, mixed.inp);
    expect(JSON.parse(await readFile(join(mixed.dir, "dataset", "manifest.json"), "utf8")).embeddedModels).toEqual([{ role: "reinforced", provider: "ngram" }]);
  });

  it("warns when blockSize exceeds a README recipe's sequence length (axolotl drops longer rows)", async () => {
    const { dir, log, inp } = await inputs({}, { blockSize: 600 });
    await writeDataset(dir, inp);
    const warnings = log.lines.filter((l) => l.startsWith("warning: export: blockSize"));
    expect(warnings).toEqual([expect.stringMatching(/^warning: export: blockSize 600 exceeds the README's axolotl recipe \(sequence_len: 512\): axolotl drops every longer row/)]);
    const small = await inputs({}, { blockSize: 512 });
    await writeDataset(small.dir, small.inp);
    expect(small.log.lines.filter((l) => l.includes("exceeds the README"))).toEqual([]);
  });

  it("a failure in the middle of the rows leaves the previous dataset folder as it was and no staging folder", async () => {
    const { dir, inp } = await inputs({ formats: ["hf", "text"], gzip: true, validationFraction: 0.4 });
    await writeDataset(dir, inp);
    const before = await readFile(join(dir, "dataset", "manifest.json"), "utf8");
    const failing = {
      ...inp,
      rows: async function* () {
        let n = 0;
        for await (const r of inp.rows()) {
          if (++n === 2) throw new Error("labels.jsonl line 2: broken");
          yield r;
        }
      },
    };
    await expect(writeDataset(dir, failing)).rejects.toThrow("labels.jsonl line 2: broken");
    expect(await readFile(join(dir, "dataset", "manifest.json"), "utf8")).toBe(before);
    expect((await readdir(dir)).sort()).toEqual(["dataset"]);
    expect((await verifyDataset(join(dir, "dataset"))).problems).toEqual([]);
  });

  it("the streamed gzip files are the bytes gzipDeterministic makes of the whole text, also past the writer's buffer", async () => {
    // Enough rows of hf and reinforcement to pass several 1 MB buffers into zlib.
    const { dir, inp } = await inputs({ gzip: true, validationFraction: 0 });
    const ids = Array.from({ length: 4000 }, (_, t) => 1 + ((t * 7919) % 5000));
    const labels = [ids.map((v, t) => (t === 0 ? -100 : v)), ids.map((v, t) => (t % 5 === 0 ? -100 : v))];
    const n = 120;
    const rows = Array.from({ length: n }, (_, i) => ({
      block: { id: `d#${i}`, doc: "d", index: i, span: [0, 1] as [number, number], input_ids: ids, starts: ids.map(() => 0), ends: ids.map(() => 0) },
      labels: { id: `d#${i}`, labels, uncertified: [0, 0] },
      aligned: { id: `d#${i}`, translated_ids: ids, map: ids.map((_, t) => t), forbidden: [], occurrences: [], unaligned: [] },
    }));
    await writeDataset(dir, {
      ...inp,
      rows: async function* () {
        yield* rows;
      },
      scan: scanRows(rows.map((r) => r.labels)),
    });
    const gz = await readFile(join(dir, "dataset", "hf", "train.jsonl.gz"));
    const text = gunzipSync(gz);
    expect(text.length).toBeGreaterThan(3 * 2 ** 20);
    expect(gz.equals(gzipDeterministic(text))).toBe(true);
    const manifest = JSON.parse(await readFile(join(dir, "dataset", "manifest.json"), "utf8"));
    const entry = manifest.files.find((f: { path: string }) => f.path === "hf/train.jsonl.gz");
    expect(entry).toMatchObject({ rows: n, bytes: gz.length, sha256: createHash("sha256").update(gz).digest("hex") });
    expect((await verifyDataset(join(dir, "dataset"))).problems).toEqual([]);
  }, 60_000);
});
