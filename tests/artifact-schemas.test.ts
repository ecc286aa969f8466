/** The run artifacts' schemas (pipeline/schemas/): what the export stage checks before writing and
 * every reader parses with. */
import { describe, expect, it } from "vitest";
import { runManifestSchema, trainRowSchema } from "../pipeline/schemas/train.js";

const row = () => ({
  id: "a.txt#0",
  source: "a.txt",
  span: [0, 12],
  input_ids: [1, 5, 6],
  attention_mask: [1, 1, 1],
  labels: [-100, 5, 7],
  labels_alpha_2_5: [-100, 5, 8],
  counts: { masked: 0, changed: 1, uncertified: 0 },
});

const issuesOf = (value: unknown) => {
  const r = trainRowSchema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("train.jsonl row schema", () => {
  it("accepts a row with a further alpha's labels column, and keeps its columns", () => {
    expect(issuesOf(row())).toEqual([]);
    expect(Object.keys(trainRowSchema.parse(row())).sort()).toEqual(Object.keys(row()).sort());
  });

  it("rejects a column that is neither a known one nor labels_alpha_<a>, and non-integer alpha labels", () => {
    expect(issuesOf({ ...row(), label: [1] })).toEqual([expect.stringMatching(/^label: expected no such column/)]);
    expect(issuesOf({ ...row(), labels_alpha_10: [-100, 0.5] })).toEqual([expect.stringMatching(/^labels_alpha_10: expected an array of integer labels/)]);
  });

  it("names the field of a missing or mistyped count", () => {
    const { counts: _c, ...noCounts } = row();
    expect(issuesOf(noCounts)).toEqual([expect.stringMatching(/^counts: /)]);
    expect(issuesOf({ ...row(), counts: { masked: 0, changed: "1", uncertified: 0 } })).toEqual([expect.stringMatching(/^counts\.changed: .*expected number/)]);
  });
});

describe("run manifest schema", () => {
  const manifest = () => ({
    format: "whp-run",
    version: 1,
    tool: { name: "whp", version: "0.1.0" },
    run: "t",
    seed: 1,
    config: {},
    tokenizer: { sha256: "x", vocabSize: 10, prefixSpecialIds: [1] },
    models: { baseline: { provider: "ngram" } },
    alphas: { main: 5, all: [5], columns: ["labels"] },
    logitSpace: "logprobs",
    topK: 20,
    labelConvention: "huggingface",
    counts: { blocks: 1, tokens: 3, positions: 2, masked: 0, changed: 1, uncertified: [0], anchorOccurrences: 1, unalignedOccurrences: 0 },
    files: [{ path: "train.jsonl", bytes: 10, sha256: "0".repeat(64), rows: 1 }],
  });
  it("accepts what the export stage writes and rejects another version or a missing count", () => {
    expect(runManifestSchema.safeParse(manifest()).success).toBe(true);
    expect(runManifestSchema.safeParse({ ...manifest(), version: 2 }).success).toBe(false);
    const m = manifest();
    const { changed: _c, ...counts } = m.counts;
    expect(runManifestSchema.safeParse({ ...m, counts }).success).toBe(false);
  });
});
