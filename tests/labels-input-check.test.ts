/**
 * The labels stage's quick input checks (stages/labels-input-check.ts) are never laxer than the
 * schemas on what JSON.parse gives: a good row passes both; every way of breaking one is refused by the schema AND the check
 * (a check that refused a good row would only cost time: the schema then decides).
 */
import { describe, expect, it } from "vitest";
import { alignedSchema } from "../pipeline/schemas/aligned.js";
import { blockSchema } from "../pipeline/schemas/blocks.js";
import { isAlignedRow, isBlockRow } from "../pipeline/stages/labels-input-check.js";

type R = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const block = (): R => ({ id: "b1", doc: "d", index: 3, span: [0, 9], input_ids: [1, 2, 3], starts: [0, 1, 4], ends: [1, 4, 9] });
const aligned = (): R => ({
  id: "b1",
  translated_ids: [1, 7, 3],
  map: [0, -1, 2],
  forbidden: [{ from: 1, tokens: [7, 8] }],
  occurrences: [{ term: "t", translation: "u", start: 0, end: 1, first: 0, last: 1, translatedFirst: 0, translatedLast: 1 }],
  unaligned: [{ term: "v", start: 2, end: 3, reason: "crosses-block-boundary" }],
});

const blockBreaks: [string, (r: R) => void][] = [
  ["id a number", (r) => (r.id = 1)],
  ["doc missing", (r) => delete r.doc],
  ["index fractional", (r) => (r.index = 1.5)],
  ["span of one", (r) => (r.span = [0])],
  ["span of three", (r) => (r.span = [0, 1, 2])],
  ["span fractional", (r) => (r.span = [0, 1.5])],
  ["an input id a string", (r) => (r.input_ids[1] = "2")],
  ["an input id unsafe", (r) => (r.input_ids[1] = 2 ** 60)],
  ["starts not an array", (r) => (r.starts = {})],
  ["an end NaN", (r) => (r.ends[0] = NaN)],
];
const alignedBreaks: [string, (r: R) => void][] = [
  ["id missing", (r) => delete r.id],
  ["a translated id fractional", (r) => (r.translated_ids[0] = 0.5)],
  ["map not an array", (r) => (r.map = "0,1")],
  ["a map entry Infinity", (r) => (r.map[0] = Infinity)],
  ["forbidden.from missing", (r) => delete r.forbidden[0].from],
  ["a forbidden token a string", (r) => (r.forbidden[0].tokens[0] = "7")],
  ["forbidden null", (r) => (r.forbidden = null)],
  ["an occurrence's translation missing", (r) => delete r.occurrences[0].translation],
  ["an occurrence's translatedLast fractional", (r) => (r.occurrences[0].translatedLast = 1.5)],
  ["an occurrence a number", (r) => (r.occurrences[0] = 1)],
  ["an unknown unaligned reason", (r) => (r.unaligned[0].reason = "other")],
  ["an unaligned start missing", (r) => delete r.unaligned[0].start],
  ["unaligned missing", (r) => delete r.unaligned],
];

describe("quick input checks of the labels stage", () => {
  it("pass good rows, as the schemas do", () => {
    expect(blockSchema.safeParse(block()).success && isBlockRow(block())).toBe(true);
    expect(alignedSchema.safeParse(aligned()).success && isAlignedRow(aligned())).toBe(true);
    expect(isAlignedRow({ ...aligned(), forbidden: [], occurrences: [], unaligned: [] })).toBe(true);
  });

  it.each(blockBreaks)("refuse a block with %s, as blockSchema does", (_n, breakIt) => {
    const r = block();
    breakIt(r);
    expect(blockSchema.safeParse(r).success).toBe(false);
    expect(isBlockRow(r)).toBe(false);
  });

  it.each(alignedBreaks)("refuse an aligned row with %s, as alignedSchema does", (_n, breakIt) => {
    const r = aligned();
    breakIt(r);
    expect(alignedSchema.safeParse(r).success).toBe(false);
    expect(isAlignedRow(r)).toBe(false);
  });
});
