// The real-stage benches' helpers: the replay server's bodies must be what the stage accepts as a
// vLLM answer (else the bench measures an error path), and the rate window must leave out the probe.
import { describe, expect, it } from "vitest";
import { detectLogitSpace } from "../pipeline/models/preflight.js";
import { parseVllmCompletion, promptFor, readVllmCompletion } from "../pipeline/models/vllm.js";
import { workRate } from "../bench/labels-rate.bench.js";
import { completionBody } from "../bench/replay-bodies.js";

const V = 64;
const decoded = Array.from({ length: V }, (_, i) => JSON.stringify(` t${i}`));
const tokens = [3, 9, 27, 17, 50, 1, 2, 63];

describe("replay bodies", () => {
  it("are read alike by the byte scanner and by JSON.parse, one row per token, the actual token listed first", () => {
    const text = completionBody("m", promptFor(tokens), 5, V, decoded);
    const fast = readVllmCompletion(Buffer.from(text), tokens, 5, V, "keep");
    const slow = parseVllmCompletion(JSON.parse(text), tokens, 5, V, "keep");
    expect(fast.n).toBe(tokens.length);
    expect(Array.from(fast.ids)).toEqual(Array.from(slow.ids));
    expect(Array.from(fast.values)).toEqual(Array.from(slow.values));
    const body = JSON.parse(text);
    // Each row's first key in the text (JS objects reorder integer keys, so read it from the bytes).
    const firstKeys = [...text.matchAll(/(?:\[null|\}\}),\{"(\d+)":/g)].map((x) => Number(x[1]));
    expect(firstKeys).toEqual(promptFor(tokens).slice(1));
    // no id written twice in a row (JSON.parse would silently keep one)
    const listed = (body.choices[0].prompt_logprobs as (object | null)[]).reduce((n: number, r) => n + (r ? Object.keys(r).length : 0), 0);
    expect(text.split('"logprob":').length - 1).toBe(listed);
    for (let j = 1; j <= tokens.length; j++) {
      const row = body.choices[0].prompt_logprobs[j] as Record<string, { rank: number }>;
      // the top k ranked 1..k once each, plus the actual token below them when it is not among them
      const ranks = Object.values(row).map((e) => e.rank);
      const actualRank = row[String(promptFor(tokens)[j])].rank;
      expect(new Set(ranks).size).toBe(ranks.length);
      expect(ranks.filter((r) => r <= 5).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
      expect(ranks.length - 5).toBe(actualRank > 5 ? 1 : 0);
    }
  });

  it("are log-probabilities (the stage's probe sees logprobs) and the same bytes when asked twice", () => {
    const a = completionBody("m", promptFor(tokens), 5, V, decoded);
    expect(completionBody("m", promptFor(tokens), 5, V, decoded)).toBe(a);
    expect(detectLogitSpace(readVllmCompletion(Buffer.from(a), tokens, 5, V, "drop")).space).toBe("logprobs");
    const full = completionBody("m", promptFor(tokens), V, V, decoded);
    const rows = readVllmCompletion(Buffer.from(full), tokens, "full", V, "drop");
    expect(detectLogitSpace(rows)).toMatchObject({ space: "logprobs", proved: true });
  });
});

describe("workRate", () => {
  it("starts at the first request that overlaps another, so the sequential probe is left out", () => {
    // three probe requests one after another, then four at once answered 100 ms later
    const t: [number, number][] = [[0, 10], [10, 20], [20, 30], [1000, 1100], [1001, 1101], [1002, 1102], [1003, 1103]];
    expect(workRate(t)).toEqual({ requests: 4, seconds: 0.103, perSecond: 4 / 0.103 });
  });
});
