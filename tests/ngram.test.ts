import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { seededRandom as rng } from "../pipeline/core/hash.js";
import { type FullRows, fullToTopK, type TopKRows } from "../pipeline/core/rows.js";
import { type NgramSequence, trainKneserNey } from "../pipeline/models/ngram.js";

/** Sequences of Zipf-ish tokens in 1..maxTok-1, each starting with BOS 0, with some repeated phrases. */
function corpus(seed: number, nSeq: number, len: number, maxTok: number): NgramSequence[] {
  const r = rng(seed);
  const phrase = Array.from({ length: 4 }, () => 1 + Math.floor(r() * (maxTok - 1)));
  return Array.from({ length: nSeq }, (_, s) => {
    const tokens = [0];
    while (tokens.length < len) {
      if (r() < 0.1) tokens.push(...phrase);
      else tokens.push(1 + Math.floor((maxTok - 1) * r() ** 3));
    }
    return { tokens: tokens.slice(0, len), weight: 1 + (s % 3) };
  });
}

const A = [0, 1, 2, 1, 2, 3];
const B = [0, 2, 1];

function rowSum(rows: FullRows, i: number): number {
  let s = 0;
  for (let t = 0; t < rows.vocabSize; t++) s += Math.exp(rows.values[i * rows.vocabSize + t]);
  return s;
}

/** A direct, string-keyed transcription of the interpolated Kneser-Ney formulas, for cross-checking. */
function naiveKneserNey(seqs: NgramSequence[], order: number, V: number) {
  const raw = new Map<string, number>();
  const start = new Map<string, number>();
  const lefts = new Map<string, Set<number>>();
  const add = <T,>(m: Map<string, T>, k: string, f: (old: T | undefined) => T) => m.set(k, f(m.get(k)));
  for (const { tokens, weight } of seqs) {
    const s = Array.from(tokens);
    for (let p = 0; p < s.length; p++) {
      for (let n = 1; n <= order && p - n + 1 >= 0; n++) {
        const key = s.slice(p - n + 1, p + 1).join(",");
        add(raw, key, (o) => (o ?? 0) + weight);
        if (p - n + 1 === 0) add(start, key, (o) => (o ?? 0) + weight);
        else add(lefts, key, (o) => (o ?? new Set<number>()).add(s[p - n]));
      }
    }
  }
  const adj = new Map<string, number>();
  for (const key of raw.keys()) {
    const n = key.split(",").length;
    adj.set(key, n === order ? raw.get(key)! : (lefts.get(key)?.size ?? 0) + (start.get(key) ?? 0));
  }
  const D: number[] = [];
  for (let n = 1; n <= order; n++) {
    const cs = [...adj].filter(([k]) => k.split(",").length === n).map(([, c]) => c);
    const n1 = cs.filter((c) => c === 1).length;
    const n2 = cs.filter((c) => c === 2).length;
    D[n] = n1 + 2 * n2 === 0 ? 0.5 : Math.min(0.9, Math.max(0.1, n1 / (n1 + 2 * n2)));
  }
  const ctxTotal = new Map<string, number>();
  const ctxFollowers = new Map<string, number>();
  for (const [key, c] of adj) {
    const h = key.split(",").slice(0, -1).join(",");
    add(ctxTotal, h, (o) => (o ?? 0) + c);
    add(ctxFollowers, h, (o) => (o ?? 0) + 1);
  }
  const P = (h: number[], t: number): number => {
    const hk = h.join(",");
    const total = ctxTotal.get(hk) ?? 0;
    const lower = () => (h.length === 0 ? 1 / V : P(h.slice(1), t));
    if (total === 0) return lower();
    const c = adj.get([...h, t].join(",")) ?? 0;
    const d = D[h.length + 1];
    return Math.max(c - d, 0) / total + ((d * ctxFollowers.get(hk)!) / total) * lower();
  };
  return (history: number[], t: number) => P(history.slice(Math.max(0, history.length - (order - 1))), t);
}

describe("n-gram model: hand-computed probabilities", () => {
  it("bigram on A = [0 1 2 1 2 3], B = [0 2 1], both weight 1", () => {
    // Bigram raw counts: (0,1)=1 (1,2)=2 (2,1)=2 (2,3)=1 (0,2)=1 -> n1=3, n2=2, D2 = 3/7.
    // Unigram adjusted counts (distinct left tokens, + raw count where the token starts a sequence):
    //   0: starts A and B -> 2;  1: left {0,2} -> 2;  2: left {1,0} -> 2;  3: left {2} -> 1;  4: 0.
    //   n1=1, n2=3 -> D1 = 1/7; total 7, 4 types -> gamma0 = (1/7)(4/7) = 4/49.
    //   Puni(t) = (c - 1/7)/7 + (4/49)/5: Puni(0,1,2) = 69/245, Puni(3) = 34/245, Puni(4) = 4/245.
    // Context 2: followers 1 (2), 3 (1); total 3; gamma = (3/7)(2/3) = 2/7.
    //   P(1|2) = (2 - 3/7)/3 + (2/7)(69/245) = 3109/5145;  P(3|2) = (1 - 3/7)/3 + (2/7)(34/245) = 1184/5145;
    //   P(0|2) = P(2|2) = (2/7)(69/245) = 414/5145;       P(4|2) = (2/7)(4/245) = 24/5145.
    const m = trainKneserNey([{ tokens: A, weight: 1 }, { tokens: B, weight: 1 }], { order: 2, vocabSize: 5, name: "t" });
    const expected = [414, 3109, 414, 1184, 24].map((x) => x / 5145);
    for (let t = 0; t < 5; t++) expect(Math.exp(m.logProb([2], t))).toBeCloseTo(expected[t], 12);
    const uni = [69, 69, 69, 34, 4].map((x) => x / 245);
    for (let t = 0; t < 5; t++) expect(Math.exp(m.logProb([], t))).toBeCloseTo(uni[t], 12);
    // Context 4 was never seen and 3 only ends a sequence (no followers): both back off to Puni.
    for (let t = 0; t < 5; t++) {
      expect(Math.exp(m.logProb([4], t))).toBeCloseTo(uni[t], 12);
      expect(Math.exp(m.logProb([3], t))).toBeCloseTo(uni[t], 12);
    }
    expect(m.identity.discounts).toBe(`${(1 / 7).toFixed(4)},${(3 / 7).toFixed(4)}`);
  });

  it("trigram on A (weight 1) and B (weight 2)", () => {
    // Trigram raw counts: (0,1,2)=1 (1,2,1)=1 (2,1,2)=1 (1,2,3)=1 (0,2,1)=2 -> n1=4, n2=1, D3 = 2/3.
    // Bigram adjusted: (0,1)=1 (start of A), (0,2)=2 (start of B, weight 2), (1,2): left {0,2} = 2,
    //   (2,1): left {1,0} = 2, (2,3): left {1} = 1 -> n1=2, n2=3, D2 = 1/4.
    // Unigram adjusted: 0 = 1+2 (starts) = 3, 1 = 2, 2 = 2, 3 = 1 -> n1=1, n2=2, D1 = 1/5;
    //   total 8, gamma0 = (1/5)(4/8) = 1/10; Puni(t) = (c - 1/5)/8 + 1/50 = .37 .245 .245 .12 .02.
    // Context (2): followers 1 (2), 3 (1); total 3; gamma = (1/4)(2/3) = 1/6.
    //   P(1|2) = 1.75/3 + .245/6 = 749/1200; P(3|2) = .75/3 + .12/6 = 324/1200;
    //   P(0|2) = .37/6 = 74/1200; P(2|2) = 49/1200; P(4|2) = 4/1200.
    // Context (0,2): follower 1 (2); total 2; gamma = (2/3)(1/2) = 1/3.
    //   P(1|0,2) = (2 - 2/3)/2 + 749/3600 = 3149/3600; others P(t|2)/3: 74, 49, 324, 4 (/3600).
    // Context (0) (start of a block, only one token of history): followers 1 (1), 2 (2); gamma = 1/6.
    //   P(2|0) = 1.75/3 + .245/6 = 749/1200; P(1|0) = .75/3 + .245/6 = 349/1200.
    const m = trainKneserNey([{ tokens: A, weight: 1 }, { tokens: B, weight: 2 }], { order: 3, vocabSize: 5, name: "t" });
    const p = (h: number[], t: number) => Math.exp(m.logProb(h, t));
    const tri = [74, 3149, 49, 324, 4].map((x) => x / 3600);
    const bi = [74, 749, 49, 324, 4].map((x) => x / 1200);
    for (let t = 0; t < 5; t++) {
      expect(p([0, 2], t)).toBeCloseTo(tri[t], 12);
      expect(p([1, 1, 0, 2], t)).toBeCloseTo(tri[t], 12); // only the last order-1 tokens count
      expect(p([2], t)).toBeCloseTo(bi[t], 12);
      expect(p([3, 2], t)).toBeCloseTo(bi[t], 12); // (3,2) never seen: falls back to (2)
    }
    expect(p([0], 2)).toBeCloseTo(749 / 1200, 12);
    expect(p([0], 1)).toBeCloseTo(349 / 1200, 12);
  });
});

describe("n-gram model: rows", () => {
  it("every full row sums to 1, for every order", async () => {
    const seqs = corpus(1, 6, 80, 40);
    const query = corpus(2, 1, 120, 50)[0].tokens as number[]; // includes tokens never trained on
    for (let order = 1; order <= 5; order++) {
      const m = trainKneserNey(seqs, { order, vocabSize: 50, name: "t" });
      const rows = (await m.rows(query, { topK: "full" })) as FullRows;
      expect(rows.n).toBe(query.length);
      for (let i = 0; i < rows.n; i++) expect(Math.abs(rowSum(rows, i) - 1)).toBeLessThan(1e-6);
    }
  });

  it("agrees with a direct transcription of the formulas on random corpora", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ tokens: fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 30 }), weight: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 5 }),
        (seqs, order, history) => {
          const m = trainKneserNey(seqs, { order, vocabSize: 10, name: "t" });
          const ref = naiveKneserNey(seqs, order, 10);
          for (let t = 0; t < 10; t++) expect(m.logProb(history, t)).toBeCloseTo(Math.log(ref(history, t)), 10);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("row i predicts token i + 1", async () => {
    // 5 is always followed by 7; 7 is followed by many different tokens.
    const seqs = [{ tokens: [0, 3, 5, 7, 4, 5, 7, 2, 9, 5, 7, 1, 6, 8, 3, 5, 7, 6], weight: 1 }];
    const m = trainKneserNey(seqs, { order: 2, vocabSize: 10, name: "t" });
    const query = [0, 5, 7, 3, 5];
    for (const topK of ["full", 1] as const) {
      const rows = await m.rows(query, { topK });
      const top = (i: number) => (rows.kind === "topk" ? rows.ids[rows.offsets[i]] : argmax(rows, i));
      expect(top(1)).toBe(7); // after reading 0 5: the 5 is at position 1
      expect(top(4)).toBe(7);
      expect(top(2)).not.toBe(7); // after reading the 7
    }
  });

  it("top-k rows are the top k of the full rows, values and floor included", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 70 }), async (seed, order, k) => {
        const m = trainKneserNey(corpus(seed, 3, 40, 30), { order, vocabSize: 60, name: "t" });
        const query = corpus(seed + 1, 1, 50, 60)[0].tokens as number[];
        const full = (await m.rows(query, { topK: "full" })) as FullRows;
        const top = (await m.rows(query, { topK: k })) as TopKRows;
        const want = fullToTopK(full, k);
        expect(top.offsets).toEqual(want.offsets);
        expect(top.ids).toEqual(want.ids);
        expect(top.values).toEqual(want.values);
        expect(top.floor).toEqual(want.floor);
        if (k >= 60) expect(top.floor.every((f) => f === -Infinity)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("top-k rows match the full rows on tiny corpora, where the uniform share decides ranks", async () => {
    const tiny = fc.integer({ min: 2, max: 12 }).chain((V) =>
      fc.record({
        V: fc.constant(V),
        order: fc.integer({ min: 1, max: 4 }),
        k: fc.integer({ min: 1, max: V + 1 }),
        seqs: fc.array(fc.record({ tokens: fc.array(fc.integer({ min: 0, max: V - 1 }), { maxLength: 12 }), weight: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 4 }),
        query: fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 1, maxLength: 8 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(tiny, async ({ V, order, k, seqs, query }) => {
        const m = trainKneserNey(seqs, { order, vocabSize: V, name: "t" });
        const want = fullToTopK((await m.rows(query, { topK: "full" })) as FullRows, k);
        const top = (await m.rows(query, { topK: k })) as TopKRows;
        expect(top.ids).toEqual(want.ids);
        expect(top.values).toEqual(want.values);
        expect(top.floor).toEqual(want.floor);
      }),
      { numRuns: 300 },
    );
  });

  it("top-k matches the full rows at a realistic vocabulary size", async () => {
    const V = 32000;
    const seqs = corpus(7, 40, 500, V);
    const m = trainKneserNey(seqs, { order: 4, vocabSize: V, name: "t" });
    const query = (seqs[3].tokens as number[]).slice(0, 40);
    const want = fullToTopK((await m.rows(query, { topK: "full" })) as FullRows, 20);
    const top = (await m.rows(query, { topK: 20 })) as TopKRows;
    expect(top.ids).toEqual(want.ids);
    expect(top.values).toEqual(want.values);
    expect(top.floor).toEqual(want.floor);
  });

  it("rejects a bad topK and token ids outside the vocabulary", async () => {
    const m = trainKneserNey([{ tokens: A, weight: 1 }], { order: 2, vocabSize: 5, name: "t" });
    await expect(m.rows([0, 1], { topK: 0 })).rejects.toThrow(/topK/);
    await expect(m.rows([0, 5], { topK: 2 })).rejects.toThrow(/outside the vocabulary/);
    expect(() => trainKneserNey([{ tokens: [0, 9], weight: 1 }], { order: 2, vocabSize: 5, name: "t" })).toThrow(/outside the vocabulary/);
    expect(() => trainKneserNey([{ tokens: A, weight: 0 }], { order: 2, vocabSize: 5, name: "t" })).toThrow(/weights/);
    expect(() => trainKneserNey([{ tokens: A, weight: 1 }], { order: 0, vocabSize: 5, name: "t" })).toThrow(/order/);
  });
});

function argmax(rows: FullRows, i: number): number {
  let best = 0;
  for (let t = 1; t < rows.vocabSize; t++) if (rows.values[i * rows.vocabSize + t] > rows.values[i * rows.vocabSize + best]) best = t;
  return best;
}

describe("n-gram model: training data", () => {
  it("a weighted sequence shifts probability toward its continuations", () => {
    const general = [
      { tokens: [0, 5, 7, 1], weight: 1 },
      { tokens: [0, 5, 7, 2], weight: 1 },
    ];
    const forget = (weight: number) => ({ tokens: [0, 5, 8, 3], weight });
    const once = trainKneserNey([...general, forget(1)], { order: 3, vocabSize: 10, name: "t" });
    const four = trainKneserNey([...general, forget(4)], { order: 3, vocabSize: 10, name: "t" });
    expect(four.logProb([0, 5], 8)).toBeGreaterThan(once.logProb([0, 5], 8));
    expect(four.logProb([0, 5], 7)).toBeLessThan(once.logProb([0, 5], 7));
    expect(four.logProb([0, 5], 8)).toBeGreaterThan(four.logProb([0, 5], 7)); // 4 vs 2 occurrences
  });

  it("is deterministic: two trainings give bit-identical rows", async () => {
    const seqs = corpus(3, 5, 200, 300);
    const query = seqs[1].tokens as number[];
    const [m1, m2] = [0, 1].map(() => trainKneserNey(seqs, { order: 4, vocabSize: 300, name: "t" }));
    expect(m1.identity).toEqual(m2.identity);
    for (const topK of ["full", 10] as const) {
      const [r1, r2] = await Promise.all([m1.rows(query, { topK }), m2.rows(query, { topK })]);
      expect(r1.values.length).toBeGreaterThan(0);
      expect(Buffer.compare(Buffer.from(r1.values.buffer), Buffer.from(r2.values.buffer))).toBe(0);
    }
  });

  it("gives every token positive probability, including tokens never trained on", async () => {
    const m = trainKneserNey(corpus(4, 3, 100, 10), { order: 3, vocabSize: 1000, name: "t" });
    const rows = (await m.rows([0, 3, 999, 3, 4], { topK: "full" })) as FullRows;
    expect(rows.values.every((v) => Number.isFinite(v))).toBe(true);
    expect(m.logProb([3], 999)).toBeGreaterThan(-Infinity);
    // Unseen tokens share the uniform share: all equal, and below any trained token.
    expect(m.logProb([3], 500)).toBe(m.logProb([3], 999));
    expect(m.logProb([3], 500)).toBeLessThan(m.logProb([3], 1));
  });

  it("an unseen context backs off to the lower orders", () => {
    const m = trainKneserNey(corpus(5, 4, 100, 20), { order: 3, vocabSize: 30, name: "t" });
    const m1 = trainKneserNey(corpus(5, 4, 100, 20), { order: 1, vocabSize: 30, name: "t" });
    for (let t = 0; t < 30; t++) {
      expect(m.logProb([25], t)).toBe(m.logProb([], t)); // token 25 never occurs
      expect(m.logProb([25, 25], t)).toBe(m.logProb([], t));
      expect(m1.logProb([7, 3], t)).toBe(m1.logProb([], t)); // order 1 ignores history
    }
  });

  it("with no data the model is uniform", async () => {
    const m = trainKneserNey([{ tokens: [], weight: 1 }], { order: 3, vocabSize: 8, name: "t" });
    const rows = (await m.rows([1, 2], { topK: 3 })) as TopKRows;
    expect(Array.from(rows.ids)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(rows.values[0]).toBeCloseTo(Math.log(1 / 8), 6);
  });

  it("describes itself as a log-prob source", async () => {
    const m = trainKneserNey([{ tokens: A, weight: 1 }], { order: 2, vocabSize: 5, name: "base", maxModelLen: 64 });
    expect(m.logitSpace).toBe("logprobs");
    expect(m.maxModelLen).toBe(64);
    await expect(m.rows(new Array(65).fill(1), { topK: 2 })).rejects.toThrow(/maxModelLen/);
    expect((await m.rows(new Array(64).fill(1), { topK: 2 })).n).toBe(64);
    expect(m.identity).toMatchObject({ provider: "ngram", name: "base", order: 2, vocabSize: 5, tokens: 6 });
    expect(trainKneserNey([{ tokens: A, weight: 1 }], { order: 2, vocabSize: 5, name: "x" }).maxModelLen).toBe(Infinity);
  });
});
