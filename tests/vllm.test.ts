import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { VllmBodyStream } from "../pipeline/models/vllm-stream.js";
import { UserError } from "../pipeline/core/errors.js";
import type { TopKRows } from "../pipeline/core/rows.js";
import { ResponseShapeError } from "../pipeline/models/transport-error.js";
import { detectLogitSpace } from "../pipeline/models/preflight.js";
import { fullRowsBytes, parseVllmCompletion, promptFor, VllmSource, vllmModelSchema } from "../pipeline/models/vllm.js";
import { serversClosedAfterEach, V, plain, randomTokens, tempCache, tinyModel } from "./helpers/served.js";

const base = tinyModel(1, "base");
const reinf = tinyModel(2, "reinf");
const start = serversClosedAfterEach();

function source(urls: string[], extra: Record<string, unknown> = {}, cache?: Awaited<ReturnType<typeof tempCache>>, warnings: string[] = []) {
  const spec = vllmModelSchema.parse({ provider: "vllm", model: "base", urls, timeoutSeconds: 2, ...extra });
  return new VllmSource(spec, { vocabSize: V, role: "baseline", cache, warn: (m) => warnings.push(m) });
}

describe("parseVllmCompletion (the response format)", () => {
  // The block [0, 5, 6] was sent as [0, 5, 6, 0] (promptFor): four prompt positions, in vLLM's shape
  // (serving_completion.py: each entry a Logprob {logprob, rank, decoded_token}; the top k plus the
  // actual prompt token with its true rank; -inf clamped to -9999.0).
  const tokens = [0, 5, 6];
  const body = (prompt: unknown[]) => ({ choices: [{ index: 0, text: "", logprobs: null, prompt_logprobs: prompt }] });
  const ok = body([
    null,
    { "5": { logprob: -0.5, rank: 1, decoded_token: "a" }, "9": { logprob: -9999.0, rank: 2, decoded_token: "b" } },
    { "3": { logprob: -0.1, rank: 1, decoded_token: "c" }, "4": { logprob: -2, rank: 2, decoded_token: "d" }, "6": { logprob: -12, rank: 40, decoded_token: "e" } },
    { "11": { logprob: -0.2, rank: 1, decoded_token: "f" }, "12": { logprob: -3, rank: 2, decoded_token: "g" }, "0": { logprob: -15, rank: 57, decoded_token: "<s>" } },
  ]);

  it("row i predicts token i + 1: prompt_logprobs[i + 1], the last row from the extra token's position", () => {
    expect(promptFor(tokens)).toEqual([0, 5, 6, 0]);
    const rows = parseVllmCompletion(ok, tokens, 2, V, "drop");
    expect(rows.n).toBe(3);
    expect(plain(rows)).toEqual({ n: 3, V, offsets: [0, 2, 4, 6], ids: [5, 9, 3, 4, 11, 12], values: [-0.5, -Infinity, Math.fround(-0.1), -2, Math.fround(-0.2), -3], floor: [-Infinity, -2, -3] });
  });

  it("keeps the actual token beyond the top k when asked (a row k + 1 long, floor still the k-th value), but never the extra token", () => {
    const rows = parseVllmCompletion(ok, tokens, 2, V, "keep");
    expect(Array.from(rows.offsets)).toEqual([0, 2, 5, 7]);
    expect(Array.from(rows.ids.subarray(2, 5))).toEqual([3, 4, 6]);
    expect(Array.from(rows.ids.subarray(5, 7))).toEqual([11, 12]);
    expect(rows.floor[1]).toBe(-2);
  });

  it("rejects a wrong number of positions, a non-null first position and missing fields as retryable shape errors", () => {
    const p = ok.choices[0].prompt_logprobs;
    expect(() => parseVllmCompletion(ok, [0, 5], 2, V, "drop")).toThrow(ResponseShapeError);
    expect(() => parseVllmCompletion(body(p.slice(0, 3)), tokens, 2, V, "drop")).toThrow(/expected 4/);
    expect(() => parseVllmCompletion(body([{}, ...p.slice(1)]), tokens, 2, V, "drop")).toThrow(/should be null/);
    expect(() => parseVllmCompletion({ choices: [{ prompt_logprobs: null }] }, tokens, 2, V, "drop")).toThrow(/prompt_logprobs is missing/);
    expect(() => parseVllmCompletion(body([null, { "5": { logprob: -0.5 } }, p[2], p[3]]), tokens, 2, V, "drop")).toThrow(/at least 2 entries/);
  });

  it("reads nothing from the generated token: a [{}] top list (logprobs -1) or none at all gives the same rows", () => {
    const want = plain(parseVllmCompletion(ok, tokens, 2, V, "drop"));
    const withEmpty = { choices: [{ ...ok.choices[0], logprobs: { text_offset: [0], token_logprobs: [-0.2], tokens: ["token_id:11"], top_logprobs: [{}] } }] };
    expect(plain(parseVllmCompletion(withEmpty, tokens, 2, V, "drop"))).toEqual(want);
  });

  it("sorts long rows (topK full) by value, ties by id, and rejects a token listed twice", () => {
    const W = 100;
    const ids = Array.from({ length: W }, (_, t) => (t * 37) % W); // shuffled
    const dict = (shift: number) => Object.fromEntries(ids.map((t) => [String(t), { logprob: -((t + shift) % 7) }]));
    const rows = parseVllmCompletion(body([null, dict(0), dict(3)]), [0, 5], "full", W, "drop");
    expect(rows.offsets[1]).toBe(W);
    const row0 = Array.from(rows.ids.subarray(0, W));
    const want = Array.from({ length: W }, (_, t) => t).sort((a, b) => (a % 7) - (b % 7) || a - b);
    expect(row0).toEqual(want);
    expect(rows.floor[0]).toBe(-Infinity);
    const dup = body([null, { "5": { logprob: -0.5 }, "9": { logprob: -0.5 } }, { "3": { logprob: -1 }, "03": { logprob: -2 } }]);
    expect(() => parseVllmCompletion(dup, [0, 5], 2, V, "drop")).toThrow(/listed twice/);
  });

  it("a token id outside the local vocabulary is a tokenizer mismatch (a UserError), not a retry", () => {
    const p = ok.choices[0].prompt_logprobs;
    const bad = body([...p.slice(0, 3), { [String(V)]: { logprob: -0.1 }, "1": { logprob: -2 } }]);
    expect(() => parseVllmCompletion(bad, tokens, 2, V, "drop")).toThrow(UserError);
  });
});

describe("the vllm provider against the reference server", () => {
  it("returns exactly the embedded model's top-k rows (same ids, values, floors, position convention)", async () => {
    const s = await start({ base, reinf });
    const src = source([s.url]);
    await src.preflight({ topK: 5, samples: [] });
    for (const seed of [1, 2, 3]) {
      const tokens = randomTokens(seed, 30);
      expect(plain(await src.rows(tokens, { topK: 5 }))).toEqual(plain(await base.rows(tokens, { topK: 5 })));
    }
    expect(src.maxModelLen).toBe(4094); // the block, the extra token and the generated one fit 4096
    expect(src.logitSpace).toBe("logprobs");
    expect(source([s.url], { logprobsMode: "raw_logits" }).logitSpace).toBe("logits");
  });

  it("asks for the whole vocabulary when topK is full and the server allows it", async () => {
    const s = await start({ base }, { maxLogprobs: -1 });
    const src = source([s.url], { maxLogprobs: -1 });
    await src.preflight({ topK: "full", samples: [] });
    const tokens = randomTokens(4, 12);
    const rows = (await src.rows(tokens, { topK: "full" })) as TopKRows;
    expect(rows.offsets[1]).toBe(V);
    expect(Array.from(rows.floor).every((f) => f === -Infinity)).toBe(true);
    expect(plain(rows)).toEqual(plain(await base.rows(tokens, { topK: V })));
  });

  it("a k above the server's --max-logprobs fails with a message naming the flag, before or at the server", async () => {
    const s = await start({ base }); // --max-logprobs 20
    await expect(source([s.url]).preflight({ topK: 50, samples: [] })).rejects.toThrow(/--max-logprobs/);
    const e = await source([s.url], { maxLogprobs: 100 }).rows(randomTokens(1, 8), { topK: 50 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(String((e as UserError).fix)).toContain("--max-logprobs");
    expect(s.stats.requests["/v1/completions"]).toBe(1); // a 400 is not retried
  });

  it("stops on a tokenizer mismatch, naming the first differing token", async () => {
    const s = await start({ base });
    const src = source([s.url]);
    await expect(src.preflight({ topK: 5, samples: [{ text: "abc", ids: [0, ...[..."abc"].map((c) => 1 + (c.charCodeAt(0) % (V - 1)))] }] })).resolves.toBeUndefined();
    await expect(src.preflight({ topK: 5, samples: [{ text: "abc", ids: [1, 2, 3] }] })).rejects.toThrow(/tokenizes differently.*first differs at token 0/);
    await expect(source([s.url], { model: "nope" }).preflight({ topK: 5, samples: [] })).rejects.toThrow(/does not serve "nope"/);
  });

  it("sends the API key from the environment variable apiKeyEnv names, and reports a missing variable", async () => {
    const s = await start({ base }, { apiKey: "sekrit" });
    process.env.WHP_TEST_KEY = "sekrit";
    const tokens = randomTokens(5, 10);
    expect(plain(await source([s.url], { apiKeyEnv: "WHP_TEST_KEY" }).rows(tokens, { topK: 3 }))).toEqual(plain(await base.rows(tokens, { topK: 3 })));
    delete process.env.WHP_TEST_KEY;
    expect(() => source([s.url], { apiKeyEnv: "WHP_TEST_KEY" })).toThrow(/WHP_TEST_KEY/);
  });
});

describe("failures end in a retry that succeeds or a clear error, never a wrong row", () => {
  const cases = [
    { name: "429 with Retry-After", fault: { kind: "status", status: 429, retryAfter: "1" } as const, minMs: 1000 },
    { name: "503", fault: { kind: "status", status: 503 } as const, minMs: 0 },
    { name: "a dropped connection mid-body", fault: { kind: "drop-mid-body" } as const, minMs: 0 },
    { name: "a truncated, unparsable body", fault: { kind: "malformed" } as const, minMs: 0 },
    { name: "the wrong number of positions", fault: { kind: "wrong-positions" } as const, minMs: 0 },
    { name: "a response slower than the timeout", fault: { kind: "delay", ms: 2500 } as const, minMs: 2000 },
  ];
  for (const c of cases) {
    it(`${c.name}: retried, then the right rows`, async () => {
      const s = await start({ base }, { faults: ({ path, count }) => (path === "/v1/completions" && count === 1 ? c.fault : undefined) });
      const warnings: string[] = [];
      const src = source([s.url], {}, undefined, warnings);
      const tokens = randomTokens(6, 40);
      const t0 = performance.now();
      const rows = await src.rows(tokens, { topK: 4 });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(c.minMs - 20);
      expect(plain(rows)).toEqual(plain(await base.rows(tokens, { topK: 4 })));
      expect(s.stats.requests["/v1/completions"]).toBe(2);
      expect(warnings.length).toBe(1);
    }, 10_000);
  }

  it("gives up after the configured attempts with the server's error", async () => {
    const s = await start({ base }, { faults: () => ({ kind: "status", status: 503 }) });
    await expect(source([s.url], { attempts: 2 }).rows(randomTokens(7, 10), { topK: 4 })).rejects.toThrow(/503.*gave up after 2 attempts/);
    expect(s.stats.requests["/v1/completions"]).toBe(2);
  });
});

describe("replicas, concurrency and the cache", () => {
  it("spreads requests over every replica and keeps each under its concurrency limit", async () => {
    const a = await start({ base }, { delayMs: 30 });
    const b = await start({ base }, { delayMs: 30 });
    const src = source([a.url, b.url], { concurrency: 3 });
    const all = await Promise.all(Array.from({ length: 24 }, (_, i) => src.rows(randomTokens(100 + i, 16), { topK: 3 })));
    expect(all.length).toBe(24);
    expect(a.stats.requests["/v1/completions"]).toBe(12);
    expect(b.stats.requests["/v1/completions"]).toBe(12);
    expect(Math.max(a.stats.maxActive, b.stats.maxActive)).toBeLessThanOrEqual(3);
    expect(a.stats.maxActive).toBe(3);
  });

  it("answers a repeated request from the cache, and refetches a corrupt entry instead of trusting it", async () => {
    const s = await start({ base });
    const cache = await tempCache();
    const tokens = randomTokens(8, 20);
    const first = plain(await source([s.url], {}, cache).rows(tokens, { topK: 4 }));
    await cache.flush(); // entries are written in the background
    const again = source([s.url], {}, await Promise.resolve(cache));
    expect(plain(await again.rows(tokens, { topK: 4 }))).toEqual(first);
    expect(s.stats.requests["/v1/completions"]).toBe(1);
    expect(cache.hits).toBe(1);
    // Corrupt the entry: flip one byte of a value.
    const sub = (await readdir(cache.dir))[0];
    const file = join(cache.dir, sub, (await readdir(join(cache.dir, sub)))[0]);
    const bytes = await readFile(file);
    bytes[bytes.length - 40] ^= 0xff;
    await writeFile(file, bytes);
    expect(plain(await again.rows(tokens, { topK: 4 }))).toEqual(first);
    expect(cache.corrupt).toBe(1);
    expect(s.stats.requests["/v1/completions"]).toBe(2);
    // Another k is another request.
    await again.rows(tokens, { topK: 3 });
    expect(s.stats.requests["/v1/completions"]).toBe(3);
  });
});

describe("every row from the prompt path, the space detected, prefix caching checked (issue 13)", () => {
  it("sends the block plus one extra token, no `logprobs`, and reads the last row from the extra token's position", async () => {
    const bodies: Record<string, unknown>[] = [];
    const s = await start({ base }, { onRequest: (path, body) => path === "/v1/completions" && bodies.push(body as Record<string, unknown>) });
    const tokens = randomTokens(21, 15);
    expect(plain(await source([s.url]).rows(tokens, { topK: 4 }))).toEqual(plain(await base.rows(tokens, { topK: 4 })));
    expect(bodies.length).toBe(1);
    expect(bodies[0].prompt).toEqual([...tokens, tokens[0]]);
    expect(bodies[0].prompt_logprobs).toBe(4);
    expect(bodies[0].logprobs).toBeUndefined();
    expect(bodies[0].max_tokens).toBe(1);
  });

  it("full rows ask for the vocabulary's size (vLLM up to 0.10.2 refuses -1) and equal the embedded full rows", async () => {
    const bodies: Record<string, unknown>[] = [];
    const s = await start({ base }, { maxLogprobs: -1, onRequest: (path, body) => path === "/v1/completions" && bodies.push(body as Record<string, unknown>) });
    const tokens = randomTokens(22, 9);
    const rows = (await source([s.url], { maxLogprobs: -1 }).rows(tokens, { topK: "full" })) as TopKRows;
    expect(bodies[0].prompt_logprobs).toBe(V);
    expect(plain(rows)).toEqual(plain(await base.rows(tokens, { topK: V })));
  });

  it("the reference server answers like vLLM: the actual token with its true rank, [{}] for logprobs -1", async () => {
    const s = await start({ base }, { maxLogprobs: -1 });
    const tokens = randomTokens(23, 12);
    const res = await fetch(`${s.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "base", prompt: tokens, max_tokens: 1, prompt_logprobs: 2, logprobs: -1 }) });
    const text = await res.text();
    // vLLM's dict starts with the actual prompt token's key (JSON.parse reorders integer keys, so read the text).
    const firstKeys = [...text.matchAll(/(?:"prompt_logprobs":\[null,|\}\},)\{"(\d+)":/g)].map((x) => Number(x[1]));
    expect(firstKeys).toEqual(tokens.slice(1));
    const body = JSON.parse(text) as { choices: { prompt_logprobs: (Record<string, { logprob: number; rank: number; decoded_token: unknown }> | null)[]; logprobs: { top_logprobs: unknown[] } }[] };
    const prompt = body.choices[0].prompt_logprobs;
    expect(prompt.length).toBe(tokens.length);
    expect(prompt[0]).toBeNull();
    expect(body.choices[0].logprobs.top_logprobs).toEqual([{}]);
    const full = (await base.rows(tokens, { topK: "full" })) as unknown as { values: Float32Array };
    let beyond = 0;
    for (let j = 1; j < tokens.length; j++) {
      const entry = prompt[j]!;
      const keys = Object.keys(entry);
      expect(keys.length === 2 || keys.length === 3).toBe(true);
      const actual = entry[String(tokens[j])];
      expect(actual).toBeDefined();
      expect(Object.keys(actual).sort()).toEqual(["decoded_token", "logprob", "rank"]);
      const row = Array.from(full.values.subarray((j - 1) * V, j * V));
      // vLLM V1's rank: the tokens valued >= it (itself included); its key comes first in the dict.
      expect(actual.rank).toBe(row.filter((v) => v >= row[tokens[j]]).length);
      if (actual.rank > 2) beyond++;
    }
    expect(beyond).toBeGreaterThan(0); // the true-rank path was exercised
  });

  it("detects rows that are raw logits (Model Runner V2 honouring --logprobs-mode) and records them, with a warning", async () => {
    const s = await start({ base }, { promptLogitsShift: 7 });
    const warnings: string[] = [];
    const src = source([s.url], {}, undefined, warnings);
    expect(src.logitSpace).toBe("logprobs"); // the configured guess
    await src.probe(randomTokens(24, 20), 5);
    expect(src.logitSpace).toBe("logits");
    expect(warnings.join("\n")).toMatch(/logprobsMode is raw_logprobs but the rows are logits/);
  });

  it("log-prob rows under logprobsMode raw_logits (vLLM V1's prompt path) are log-probs: detected, warned, not assumed", async () => {
    const s = await start({ base }, { maxLogprobs: -1 });
    const warnings: string[] = [];
    const src = source([s.url], { logprobsMode: "raw_logits", maxLogprobs: -1 }, undefined, warnings);
    expect(src.logitSpace).toBe("logits");
    await src.probe(randomTokens(25, 20), "full");
    expect(src.logitSpace).toBe("logprobs");
    expect(warnings.join("\n")).toMatch(/log-softmax whatever --logprobs-mode says/);
  });

  it("warns when a block asked twice, with a request sharing its prefix in between, gets other rows (prefix caching, vLLM #42019)", async () => {
    const stale = await start({ base }, { stalePrefixCache: true });
    const warnings: string[] = [];
    await source([stale.url], {}, undefined, warnings).probe(randomTokens(26, 24), 5);
    expect(warnings.join("\n")).toMatch(/prefix caching.*--no-enable-prefix-caching/);
    expect(stale.stats.requests["/v1/completions"]).toBe(3);
    const fresh = await start({ base });
    const quiet: string[] = [];
    await source([fresh.url], {}, undefined, quiet).probe(randomTokens(26, 24), 5);
    expect(quiet).toEqual([]);
  });
});

describe("errors in both vLLM shapes, and unknown models (issue 13)", () => {
  for (const errorShape of ["nested", "flat"] as const) {
    it(`${errorShape} error bodies: the --max-logprobs and too-long hints fire`, async () => {
      const s = await start({ base }, { errorShape, maxModelLen: 20 });
      const e = await source([s.url], { maxLogprobs: 100 }).rows(randomTokens(1, 8), { topK: 50 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UserError);
      expect(String((e as UserError).message)).toMatch(/greater than max allowed: 20/);
      expect(String((e as UserError).fix)).toContain("--max-logprobs");
      const long = await source([s.url]).rows(randomTokens(2, 30), { topK: 5 }).catch((x: unknown) => x);
      expect(long).toBeInstanceOf(UserError);
      expect(String((long as UserError).message)).toMatch(/maximum context length is 20 tokens/);
      expect(String((long as UserError).fix)).toMatch(/--max-model-len/);
      expect(s.stats.requests["/v1/completions"]).toBe(2); // refusals are not retried
    });
  }

  it("the server's flat body reaches the message (not '400 status code (no body)')", async () => {
    const s = await start({ base }, { errorShape: "flat" });
    const raw = await fetch(`${s.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "base", prompt: [0, 1], max_tokens: 0 }) });
    expect(await raw.json()).toMatchObject({ object: "error", message: "max_tokens must be at least 1", type: "BadRequestError", code: 400 });
  });

  it("a 404 for an unknown model names the models the server serves", async () => {
    const s = await start({ base, reinf });
    const raw = await fetch(`${s.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "nope", prompt: [0, 1], max_tokens: 1 }) });
    expect(raw.status).toBe(404);
    expect(await raw.json()).toMatchObject({ error: { type: "NotFoundError", message: "The model `nope` does not exist." } });
    for (const errorShape of ["nested", "flat"] as const) {
      const t = await start({ base, reinf }, { errorShape });
      const e = await source([t.url], { model: "nope" }).rows(randomTokens(3, 8), { topK: 3 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UserError);
      expect(String((e as UserError).message)).toMatch(/does not exist.*it serves: base, reinf/);
      // the evaluation's requests too
      const lp = await source([t.url], { model: "nope" }).tokenLogprobs(randomTokens(3, 8)).catch((x: unknown) => x);
      expect(String((lp as UserError).message)).toMatch(/it serves: base, reinf/);
    }
  });
});

describe("full rows are bounded by memory, not only by concurrency (issue 13)", () => {
  it("runs only as many full-row requests at once as fullRowsMemoryMB holds (one always runs)", async () => {
    const s = await start({ base }, { maxLogprobs: -1, delayMs: 40 });
    // fullRowsBytes(500, 60) = 501 * 60 * 24 bytes = 0.69 MB per request.
    expect(fullRowsBytes(500, V)).toBe(501 * V * 24);
    for (const [mb, most] of [[1, 1], [2, 2]] as const) {
      const src = source([s.url], { maxLogprobs: -1, concurrency: 16, fullRowsMemoryMB: mb });
      s.stats.maxActive = 0;
      const all = await Promise.all(Array.from({ length: 6 }, (_, i) => src.rows(randomTokens(300 + i, 500), { topK: "full" })));
      expect(all.length).toBe(6);
      expect(s.stats.maxActive).toBe(most);
    }
    // Top-k requests are not held back by the budget.
    const src = source([s.url], { concurrency: 16, fullRowsMemoryMB: 1 });
    s.stats.maxActive = 0;
    await Promise.all(Array.from({ length: 6 }, (_, i) => src.rows(randomTokens(400 + i, 200), { topK: 5 })));
    expect(s.stats.maxActive).toBe(6);
  });
});

describe("detectLogitSpace (what rows can prove about their space)", () => {
  const rowsOf = (values: number[][], V: number): TopKRows => {
    const offsets = [0];
    const ids: number[] = [];
    const vals: number[] = [];
    for (const r of values) {
      r.forEach((v, t) => (ids.push(t), vals.push(v)));
      offsets.push(ids.length);
    }
    return { kind: "topk", n: values.length, vocabSize: V, offsets: Int32Array.from(offsets), ids: Int32Array.from(ids), values: Float32Array.from(vals), floor: new Float32Array(values.length).fill(-Infinity) };
  };
  it("full rows: log-sum-exp 0 proves log-probs, anything else proves logits; top-k rows can prove logits only", () => {
    const lp = [Math.log(0.5), Math.log(0.25), Math.log(0.25)];
    expect(detectLogitSpace(rowsOf([lp, lp], 3))).toMatchObject({ space: "logprobs", proved: true });
    expect(detectLogitSpace(rowsOf([lp.map((v) => v - 2)], 3))).toMatchObject({ space: "logits", proved: true }); // all negative, not normalised
    expect(detectLogitSpace(rowsOf([lp.map((v) => v + 1)], 3))).toMatchObject({ space: "logits", proved: true });
    expect(detectLogitSpace(rowsOf([lp.slice(0, 2)], 3))).toMatchObject({ space: "logprobs", proved: false });
    expect(detectLogitSpace(rowsOf([[3, 1]], 3))).toMatchObject({ space: "logits", proved: true });
  });
});

describe("full rows are read while they arrive (vllm-stream.ts), and a bad body is retried like any other", () => {
  for (const fault of [{ kind: "malformed" }, { kind: "drop-mid-body" }, { kind: "wrong-positions" }, { kind: "status", status: 503 }] as const) {
    it(`${JSON.stringify(fault)} on a full-row response: retried, then the right rows`, async () => {
      const s = await start({ base }, { maxLogprobs: -1, faults: ({ path, count }) => (path === "/v1/completions" && count === 1 ? fault : undefined) });
      const warnings: string[] = [];
      const tokens = randomTokens(41, 30);
      const rows = await source([s.url], { maxLogprobs: -1 }, undefined, warnings).rows(tokens, { topK: "full" });
      expect(plain(rows)).toEqual(plain(await base.rows(tokens, { topK: V })));
      expect(s.stats.requests["/v1/completions"]).toBe(2);
      expect(warnings.length).toBe(1);
    });
  }

  it("the provider reads full rows through the stream, never the whole body", async () => {
    const s = await start({ base }, { maxLogprobs: -1 });
    const push = vi.spyOn(VllmBodyStream.prototype, "push");
    try {
      const tokens = randomTokens(43, 20);
      expect(plain(await source([s.url], { maxLogprobs: -1 }).rows(tokens, { topK: "full" }))).toEqual(plain(await base.rows(tokens, { topK: V })));
      expect(push).toHaveBeenCalled();
    } finally {
      push.mockRestore();
    }
  });

  it("an error answer to a full-row request still reaches the hints (the body is not streamed then)", async () => {
    const s = await start({ base }, { maxLogprobs: 20, errorShape: "flat" });
    const e = await source([s.url], { maxLogprobs: -1 }).rows(randomTokens(42, 8), { topK: "full" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(String((e as UserError).fix)).toContain("--max-logprobs");
  });
});
