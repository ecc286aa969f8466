import { describe, expect, it } from "vitest";
import { UserError } from "../pipeline/core/errors.js";
import { aggregateFamiliarity, importAuthorsPrompts, parseJudgement } from "../pipeline/eval/familiarity.js";

describe("completion familiarity", () => {
  it("imports the authors' published format, dropping duplicates", () => {
    const json = [
      { prompt: { prompt: "The boy with the scar  walked", references: ["Harry"], subtlety: 3 } },
      { prompt: { prompt: "The boy with the scar walked", references: ["Harry"], subtlety: 3 } },
      { prompt: { prompt: "At the castle", references: ["Hogwarts", "Dumbledore"], subtlety: 8 } },
    ];
    const { prompts, duplicates } = importAuthorsPrompts(json, "hp.json");
    expect(duplicates).toEqual([{ prompt: "The boy with the scar walked", kept: 0, dropped: 1, differs: [] }]);
    expect(prompts).toEqual([
      { id: "f0000", prompt: "The boy with the scar  walked", references: ["Harry"], subtlety: 3, source: "hp.json" },
      { id: "f0001", prompt: "At the castle", references: ["Hogwarts", "Dumbledore"], subtlety: 8, source: "hp.json" },
    ]);
  });

  it("names the bad field of a malformed import", () => {
    const bad = [{ prompt: { prompt: "x", references: ["a"], subtlety: 11 } }];
    expect(() => importAuthorsPrompts(bad, "hp.json")).toThrow(UserError);
    expect(() => importAuthorsPrompts(bad, "hp.json")).toThrow(/hp\.json.*\n.*0\.prompt\.subtlety/);
    expect(() => importAuthorsPrompts({ prompts: [] }, "hp.json")).toThrow(/published prompt format/);
  });

  it("parses the judge's score robustly and refuses ambiguous answers", () => {
    expect(parseJudgement('{"score": 3, "reason": "names Hogwarts"}')).toBe(3);
    expect(parseJudgement("Reasoning: generic.\nScore: 1")).toBe(1);
    expect(parseJudgement("score = 2")).toBe(2);
    expect(parseJudgement(" 0 ")).toBe(0);
    expect(parseJudgement("I would say 2 or 3")).toBeNull();
    expect(parseJudgement("Score: 2. On reflection, score: 3")).toBeNull();
    expect(parseJudgement("Score: 4")).toBeNull();
    expect(parseJudgement('{"score": 1.5}')).toBeNull();
    expect(parseJudgement("")).toBeNull();
  });

  it("aggregates (5 * n3 + n2) / N per subtlety, excluding failed judgements from N", () => {
    const r = aggregateFamiliarity(
      [
        { subtlety: 1, score: 3 },
        { subtlety: 1, score: 2 },
        { subtlety: 5, score: 0 },
        { subtlety: 5, score: 1 },
        { subtlety: 5, score: null },
      ],
      1,
    );
    // N = 4: (5 * 1 + 1) / 4
    expect(r.score.value).toBeCloseTo(1.5, 12);
    expect(r.score.n).toBe(4);
    expect(r.counts).toEqual([1, 1, 1, 1]);
    expect(r.failed).toBe(1);
    expect(r.bySubtlety).toEqual({ "1": { score: 3, n: 2 }, "5": { score: 0, n: 2 } });
  });
});
