import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { trainKneserNey, trainKneserNeyWithTargets } from "../pipeline/models/ngram.js";

const opts = (order: number, V: number) => ({ order, vocabSize: V, name: "t" });

describe("trainKneserNeyWithTargets (the sandbox fine-tune)", () => {
  it("equals trainKneserNey when every target is -100 or absent", () => {
    const seqs = [
      { tokens: [0, 1, 2, 1, 2, 3], weight: 2 },
      { tokens: [0, 2, 1], weight: 1 },
    ];
    const plain = trainKneserNey(seqs, opts(3, 5));
    const same = trainKneserNeyWithTargets(
      seqs.map((s) => ({ ...s, targets: s.tokens.map(() => -100) })),
      opts(3, 5),
    );
    for (const h of [[], [0], [0, 1], [1, 2], [2, 1, 2]]) expect(Array.from(same.distribution(h))).toEqual(Array.from(plain.distribution(h)));
  });

  it("an override at the last position equals replacing that token (nothing later reads it)", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 4 }), (seqs, label, order) => {
        const targets = seqs.map((s) => s.map((_, p) => (p === s.length - 1 ? label : -100)));
        const a = trainKneserNeyWithTargets(seqs.map((tokens, i) => ({ tokens, weight: 1, targets: targets[i] })), opts(order, 6));
        const b = trainKneserNey(seqs.map((s) => ({ tokens: [...s.slice(0, -1), label], weight: 1 })), opts(order, 6));
        for (const h of [[], [0], [1, 2], [3, 4, 5]]) {
          const [pa, pb] = [a.distribution(h), b.distribution(h)];
          for (let t = 0; t < 6; t++) expect(pa[t]).toBeCloseTo(pb[t], 12);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("moves a mid-sequence count to the label while later contexts still read the original token", () => {
    // bigrams of [0,1,2,3]: 0->1, 1->2, 2->3. Overriding position 2 with 4 gives 1->4 instead of 1->2,
    // and 2->3 is still counted because position 3's context is the original token 2.
    const base = trainKneserNey([{ tokens: [0, 1, 2, 3], weight: 1 }], opts(2, 5));
    const moved = trainKneserNeyWithTargets([{ tokens: [0, 1, 2, 3], weight: 1, targets: [-100, -100, 4, -100] }], opts(2, 5));
    expect(moved.distribution([1])[4]).toBeGreaterThan(base.distribution([1])[4]);
    expect(moved.distribution([1])[2]).toBeLessThan(base.distribution([1])[2]);
    const after2 = Array.from(moved.distribution([2]));
    expect(after2.indexOf(Math.max(...after2))).toBe(3);
  });

  it("rejects targets of the wrong length or outside the vocabulary", () => {
    expect(() => trainKneserNeyWithTargets([{ tokens: [0, 1], weight: 1, targets: [-100] }], opts(2, 3))).toThrow(/as long as/);
    expect(() => trainKneserNeyWithTargets([{ tokens: [0, 1], weight: 1, targets: [-100, 7] }], opts(2, 3))).toThrow(/outside the vocabulary/);
  });

  it("distribution() sums to 1 and matches the full log rows", async () => {
    const m = trainKneserNey([{ tokens: [0, 1, 2, 1, 2, 3, 2, 1], weight: 1 }], opts(3, 6));
    const h = [0, 1, 2, 1];
    const d = m.distribution(h);
    expect(d.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
    const rows = await m.rows(h, { topK: "full" });
    if (rows.kind !== "full") throw new Error("expected full rows");
    for (let t = 0; t < 6; t++) expect(Math.log(d[t])).toBeCloseTo(rows.values[3 * 6 + t], 5);
    expect(Math.log(d[2])).toBeCloseTo(m.logProb(h, 2), 12);
  });
});
