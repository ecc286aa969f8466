import { describe, expect, it } from "vitest";
import { distinctiveVocabulary, pickNeighbours, vocabularyShare, words } from "../pipeline/eval/neighbours.js";

const FORGET = ["The tide rose over the weir and the tide-charm sang.", "At the weir the salt tide keeps the oath; tide and weir and salt."];
const GENERAL = [
  { id: "g0", text: "The committee met on Tuesday and approved the budget for the year." },
  { id: "g1", text: "The fishermen watched the tide climb the weir, salt on every rope." },
  { id: "g2", text: "The tide and the weir: salt water, tide water." },
  { id: "g3", text: "Railway shares fell and the committee delayed and delayed the budget and the vote." },
  { id: "g4", text: "" },
];
const OPTS = { minRatio: 2, minCount: 2 };

describe("neighbour retain texts", () => {
  it("splits lower-case words of three letters or more", () => {
    expect(words("The tide's edge, at 9 AM: O'Neill")).toEqual(["the", "tide's", "edge", "o'neill"]);
  });

  it("keeps words much more frequent in the forget corpus, not common ones", () => {
    const v = distinctiveVocabulary(FORGET, GENERAL.map((g) => g.text), OPTS);
    expect([...v].sort()).toEqual(["tide", "weir"]);
    expect(v.has("and")).toBe(false); // as frequent in general text
    expect(v.has("the")).toBe(false); // frequent everywhere
    expect(v.has("oath")).toBe(false); // once in the forget corpus: below minCount
    expect(vocabularyShare("tide weir budget", v)).toBeCloseTo(2 / 3);
    expect(vocabularyShare("", v)).toBe(0);
  });

  it("picks the candidates sharing most distinctive vocabulary, ties by id, deterministically", () => {
    const all = new Set(GENERAL.map((g) => g.id));
    const pick = pickNeighbours(FORGET, GENERAL, all, { ...OPTS, count: 2 });
    expect(pick.ids).toEqual(["g1", "g2"]);
    expect(pick.meanShare).toBeGreaterThan(pick.candidateMeanShare);
    expect(pickNeighbours(FORGET, [...GENERAL].reverse(), all, { ...OPTS, count: 2 }).ids).toEqual(pick.ids);
    // only candidates can be picked (the caller leaves out the random retain texts)
    expect(pickNeighbours(FORGET, GENERAL, new Set(["g0", "g2", "g3"]), { ...OPTS, count: 2 }).ids).toEqual(["g0", "g2"]);
    expect(pickNeighbours(FORGET, GENERAL, all, { ...OPTS, count: 0 }).ids).toEqual([]);
  });
});
