import { describe, expect, it } from "vitest";
import { UserError } from "../pipeline/core/errors.js";
import { holdOutGeneral, mineProbabilityPrompts, sampleForgetPositions, seededSample } from "../pipeline/eval/prompts.js";
import { checkTrainRows, sandboxSequences, sandboxSpec } from "../pipeline/eval/sandbox.js";
import type { AlignedBlock } from "../pipeline/schemas/aligned.js";

const occ = (term: string, first: number, last: number, translatedFirst: number) => ({ term, translation: "x", start: 0, end: 0, first, last, translatedFirst, translatedLast: translatedFirst });
const aligned = (id: string, translated_ids: number[], occurrences: ReturnType<typeof occ>[]): AlignedBlock => ({ id, translated_ids, map: [], forbidden: [], occurrences, unaligned: [] });

describe("probability prompts", () => {
  // block a: "1 10 11 50 51 12" with anchor 50 51 at 3..4 (translated to 60); block b repeats the
  // context 10 11 before anchor 70 and has an anchor at position 0 and one whose translation starts alike.
  const blocks = [
    { id: "a", input_ids: [1, 10, 11, 50, 51, 12] },
    { id: "b", input_ids: [70, 10, 11, 70, 13, 80, 81] },
  ];
  const al = [
    aligned("a", [1, 10, 11, 60, 12], [occ("Fifty", 3, 4, 3)]),
    aligned("b", [90, 10, 11, 91, 13, 80, 99], [occ("Seventy", 0, 0, 0), occ("Seventy", 3, 3, 3), occ("Eighty", 5, 6, 5)]),
  ];

  it("tags the anchor's first token after the preceding context, merging duplicate contexts", () => {
    const { prompts, stats } = mineProbabilityPrompts(blocks, al, { contextTokens: 2, size: 10, seed: 1 });
    expect(stats).toEqual({ occurrences: 4, atBlockStart: 1, sharedFirstToken: 1, duplicateContexts: 1, candidates: 1, sampled: 1 });
    expect(prompts).toEqual([{ id: "p0000", block: "a", position: 3, context_ids: [10, 11], tagged: [50, 70], terms: ["Fifty", "Seventy"] }]);
  });

  it("keeps the block start when the context would reach before it", () => {
    const { prompts } = mineProbabilityPrompts(blocks.slice(0, 1), al.slice(0, 1), { contextTokens: 8, size: 10, seed: 1 });
    expect(prompts[0].context_ids).toEqual([1, 10, 11]);
  });

  it("refuses alignments that do not match the blocks", () => {
    expect(() => mineProbabilityPrompts(blocks, [al[1], al[0]], { contextTokens: 2, size: 10, seed: 1 })).toThrow(/expected a/);
  });

  it("samples deterministically to the configured size", () => {
    const many = Array.from({ length: 50 }, (_, i) => i);
    const a = seededSample(many, 10, 7);
    expect(a).toHaveLength(10);
    expect(seededSample(many, 10, 7)).toEqual(a);
    expect(seededSample(many, 10, 8)).not.toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(new Set(a).size).toBe(10);
    expect(seededSample(many, 99, 7)).toEqual(many);
  });
});

describe("retain slice and forget positions", () => {
  it("holds out ceil(fraction * n) general blocks, independent of their order", () => {
    const ids = Array.from({ length: 25 }, (_, i) => `g#${i}`);
    const held = holdOutGeneral(ids, 0.1, 3);
    expect(held).toHaveLength(3);
    expect(holdOutGeneral([...ids].reverse(), 0.1, 3)).toEqual(held);
    expect(holdOutGeneral(ids, 0.1, 4)).not.toEqual(held);
    expect(holdOutGeneral(["only"], 0.1, 3)).toEqual(["only"]);
    expect(holdOutGeneral([], 0.1, 3)).toEqual([]);
  });

  it("samples positions after the first token of each block", () => {
    const pos = sampleForgetPositions([{ id: "a", input_ids: [1, 2, 3] }, { id: "b", input_ids: [1, 2] }], 10, 1);
    expect(pos).toEqual([{ block: "a", position: 1 }, { block: "a", position: 2 }, { block: "b", position: 1 }]);
    expect(sampleForgetPositions([{ id: "a", input_ids: Array(100).fill(1) }], 5, 1)).toHaveLength(5);
  });
});

describe("sandbox models", () => {
  const specs = { baseline: { provider: "ngram", order: 3, generalWeight: 1, forgetWeight: 2 }, reinforced: { provider: "ngram", order: 3, generalWeight: 1, forgetWeight: 4 } };
  const data = {
    vocabSize: 10,
    general: [{ id: "g", input_ids: [1, 2, 3] }],
    forget: [{ id: "f", input_ids: [1, 4, 5, 6] }],
    train: [{ id: "f", input_ids: [1, 4, 5, 6], labels: [7, -100, 2, 6] }],
  };

  it("derives the oracle from the baseline with forgetWeight 0 when the config has none", () => {
    expect(sandboxSpec("oracle", specs)).toMatchObject({ order: 3, generalWeight: 1, forgetWeight: 0 });
    expect(sandboxSpec("unlearned", specs)).toMatchObject({ forgetWeight: 2 });
    expect(() => sandboxSpec("oracle", { ...specs, oracle: { provider: "ngram", forgetWeight: 1 } })).toThrow(/never see/);
    expect(() => sandboxSpec("baseline", { ...specs, baseline: { provider: "vllm" } })).toThrow(UserError);
  });

  it("the unlearned model reads the forget blocks with the labels as targets (never at position 0)", () => {
    const seqs = sandboxSequences("unlearned", sandboxSpec("unlearned", specs), data);
    expect(seqs).toEqual([
      { tokens: [1, 2, 3], weight: 1 },
      { tokens: [1, 4, 5, 6], weight: 2, targets: [-100, -100, 2, 6] },
    ]);
    expect(sandboxSequences("oracle", sandboxSpec("oracle", specs), data)).toEqual([{ tokens: [1, 2, 3], weight: 1 }]);
  });

  it("refuses a train.jsonl that does not match the blocks", () => {
    expect(() => checkTrainRows(data.forget, [])).toThrow(/has 0 rows/);
    expect(() => checkTrainRows(data.forget, [{ ...data.train[0], id: "z" }])).toThrow(/expected block f/);
    expect(() => checkTrainRows(data.forget, [{ ...data.train[0], input_ids: [1, 4, 5, 9] }])).toThrow(/do not match/);
  });
});
