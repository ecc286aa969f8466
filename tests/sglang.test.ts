import { describe, expect, it } from "vitest";
import { UserError } from "../pipeline/core/errors.js";
import type { TopKRows } from "../pipeline/core/rows.js";
import { ResponseShapeError } from "../pipeline/models/transport-error.js";
import { parseSglangGenerate, SglangSource, sglangInputLimit, sglangModelSchema } from "../pipeline/models/sglang.js";
import { VllmSource, vllmModelSchema } from "../pipeline/models/vllm.js";
import { serversClosedAfterEach, V, plain, randomTokens, tinyModel } from "./helpers/served.js";

const base = tinyModel(1, "base");
const start = serversClosedAfterEach();

function source(urls: string[], extra: Record<string, unknown> = {}, warnings: string[] = []) {
  const spec = sglangModelSchema.parse({ provider: "sglang", model: "base", urls, timeoutSeconds: 2, ...extra });
  return new SglangSource(spec, { vocabSize: V, role: "baseline", warn: (m) => warnings.push(m) });
}

describe("parseSglangGenerate (the response format)", () => {
  const body = {
    text: "",
    meta_info: {
      input_top_logprobs: [
        null,
        [[-0.5, 5, null], [-1.5, 9, null]],
        [[-0.1, 3, null], [null, 4, null]],
      ],
      output_top_logprobs: [[[-0.2, 11, null], [-3, 12, null]]],
    },
  };

  it("row i predicts token i + 1: input_top_logprobs[i + 1], and the last row from output_top_logprobs[0]", () => {
    const rows = parseSglangGenerate(body, [0, 5, 6], 2, V, "drop");
    expect(plain(rows)).toEqual({ n: 3, V, offsets: [0, 2, 4, 6], ids: [5, 9, 3, 4, 11, 12], values: [-0.5, -1.5, Math.fround(-0.1), -Infinity, Math.fround(-0.2), -3], floor: [-1.5, -Infinity, -3] });
  });

  it("rejects a wrong number of positions and a missing output row", () => {
    expect(() => parseSglangGenerate(body, [0, 5], 2, V, "drop")).toThrow(ResponseShapeError);
    expect(() => parseSglangGenerate({ meta_info: { ...body.meta_info, output_top_logprobs: [] } }, [0, 5, 6], 2, V, "drop")).toThrow(/output_top_logprobs\[0\]/);
  });
});

describe("the sglang provider against the reference server", () => {
  it("returns exactly the embedded model's top-k rows, and reads the context length from /get_server_info", async () => {
    const s = await start({ base }, { maxModelLen: 64 });
    const src = source([s.url]);
    await src.preflight({ topK: 5, samples: [{ text: "hello", ids: [0, ...[..."hello"].map((c) => 1 + (c.charCodeAt(0) % (V - 1)))] }] });
    // context_length null (a default launch): the limit comes from the scheduler's max_req_input_len (63).
    expect(src.maxModelLen).toBe(62);
    for (const seed of [1, 2]) {
      const tokens = randomTokens(seed, 30);
      expect(plain(await src.rows(tokens, { topK: 5 }))).toEqual(plain(await base.rows(tokens, { topK: 5 })));
    }
  });

  it("stops on a tokenizer mismatch (ids read back from input_token_logprobs)", async () => {
    const s = await start({ base });
    await expect(source([s.url]).preflight({ topK: 5, samples: [{ text: "hello", ids: [0, 1, 2, 3, 4, 5] }] })).rejects.toThrow(/tokenizes differently/);
  });

  for (const fault of [{ kind: "status", status: 503 }, { kind: "status", status: 429, retryAfter: "0" }, { kind: "wrong-positions" }, { kind: "drop-mid-body" }] as const) {
    it(`retries ${JSON.stringify(fault)} and then returns the right rows`, async () => {
      const s = await start({ base }, { faults: ({ path, count }) => (path === "/generate" && count === 1 ? fault : undefined) });
      const warnings: string[] = [];
      const tokens = randomTokens(3, 25);
      expect(plain(await source([s.url], {}, warnings).rows(tokens, { topK: 4 }))).toEqual(plain(await base.rows(tokens, { topK: 4 })));
      expect(s.stats.requests["/generate"]).toBe(2);
      expect(warnings.length).toBe(1);
    });
  }

  it("a 400 is a clear error, not retried", async () => {
    const s = await start({ base }, { maxModelLen: 10 });
    await expect(source([s.url]).rows(randomTokens(4, 20), { topK: 4 })).rejects.toThrow(/refused the request.*maximum context length/);
    expect(s.stats.requests["/generate"]).toBe(1);
  });
});

describe("SGLang as released (issue 13)", () => {
  const ids = (text: string) => [0, ...[...text].map((c) => 1 + (c.charCodeAt(0) % (V - 1)))];

  it("/get_server_info: context_length null with the scheduler's max_req_input_len; /server_info first, /get_server_info on older servers", async () => {
    const s = await start({ base }, { maxModelLen: 64 });
    const info = (await (await fetch(`${s.url}/get_server_info`)).json()) as Record<string, unknown>;
    expect(info.context_length).toBeNull();
    expect(info.max_req_input_len).toBe(63); // scheduler_info is merged into the body (http_server.py)
    const src = source([s.url]);
    await src.preflight({ topK: 5, samples: [] });
    expect(src.maxModelLen).toBe(62);
    expect(s.stats.requests["/server_info"]).toBe(1);
    expect(s.stats.requests["/get_server_info"]).toBe(1); // the fetch above only
    const old = await start({ base }, { maxModelLen: 64, sglangContextLength: 40, faults: ({ path }) => (path === "/server_info" ? { kind: "status", status: 404, body: '{"detail":"Not Found"}' } : undefined) });
    const src2 = source([old.url]);
    await src2.preflight({ topK: 5, samples: [] });
    expect(src2.maxModelLen).toBe(38); // context_length 40, one generated token, input + generated < context
    expect(old.stats.requests["/get_server_info"]).toBe(1);
  });

  it("reads max_req_input_len at the top level (current SGLang), under scheduler_info or internal_states[0]", () => {
    expect(sglangInputLimit({ context_length: null, max_req_input_len: 4090 })).toBe(4089);
    expect(sglangInputLimit({ context_length: null, scheduler_info: { max_req_input_len: 100 } })).toBe(99);
    expect(sglangInputLimit({ internal_states: [{ max_req_input_len: 50 }] })).toBe(49);
    expect(sglangInputLimit({ context_length: 4096, max_req_input_len: 8000 })).toBe(4094);
    expect(sglangInputLimit({ context_length: null })).toBeUndefined();
  });

  it("a block too long for max_req_input_len is refused before any work, by the stage's length check", async () => {
    const s = await start({ base }, { maxModelLen: 20 });
    const src = source([s.url]);
    await src.preflight({ topK: 5, samples: [] });
    expect(src.maxModelLen).toBeLessThan(20);
    expect(s.stats.requests["/generate"]).toBeUndefined();
  });

  it("uses /tokenize when the server has it, and falls back to /generate's ids when it answers 404", async () => {
    const s = await start({ base });
    await source([s.url]).preflight({ topK: 5, samples: [{ text: "hello", ids: ids("hello") }] });
    expect(s.stats.requests["/v1/tokenize"]).toBe(1);
    expect(s.stats.requests["/generate"]).toBeUndefined();
    const old = await start({ base }, { faults: ({ path }) => (path.endsWith("/tokenize") ? { kind: "status", status: 404, body: '{"detail":"Not Found"}' } : undefined) });
    await source([old.url]).preflight({ topK: 5, samples: [{ text: "hello", ids: ids("hello") }] });
    expect(old.stats.requests["/generate"]).toBe(1);
    expect([old.stats.requests["/v1/tokenize"], old.stats.requests["/tokenize"]]).toEqual([1, 1]);
  });

  it("the id clip (ids >= vocab_size - 1 reported as 0) is not a tokenizer mismatch, and token log-probs come from the top list", async () => {
    // ':' is id 59 = V - 1 in the test tokenizer.
    const text = "ab:c:";
    expect(ids(text)).toContain(V - 1);
    const s = await start({ base }, { sglangClip: true, faults: ({ path }) => (path.endsWith("/tokenize") ? { kind: "status", status: 404 } : undefined) });
    const raw = (await (await fetch(`${s.url}/generate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input_ids: ids(text), return_logprob: true, logprob_start_len: 0 }) })).json()) as { meta_info: { input_token_logprobs: unknown[][] } };
    expect(raw.meta_info.input_token_logprobs.map((t) => t[1])).toEqual(ids(text).map((t) => (t === V - 1 ? 0 : t)));
    expect(raw.meta_info.input_token_logprobs[0]).toEqual([null, 0, null]);
    await expect(source([s.url]).preflight({ topK: 5, samples: [{ text, ids: ids(text) }] })).resolves.toBeUndefined();
    // Token log-probs: where the clipped token is in the position's top 20, its value is read there...
    const listedAfter = async (prefix: number[]) => {
      const r = (await base.rows(prefix, { topK: 20 })) as TopKRows;
      return Array.from(r.ids.subarray(r.offsets[prefix.length - 1], r.offsets[prefix.length])).includes(V - 1);
    };
    let prefix: number[] | undefined;
    for (let seed = 1; !prefix && seed < 300; seed++) {
      const t = randomTokens(seed, 12);
      for (let j = 2; !prefix && j <= 12; j++) if (await listedAfter(t.slice(0, j))) prefix = t.slice(0, j);
    }
    expect(prefix).toBeDefined();
    const tokens = [...prefix!, V - 1, 5];
    const lps = await source([s.url]).tokenLogprobs(tokens);
    expect(lps).toEqual(tokens.slice(1).map((t, i) => (t === V - 1 ? Math.fround(base.logProb(tokens.slice(0, i + 1), t)) : base.logProb(tokens.slice(0, i + 1), t))));
    // ...and where it is not, the log-prob is unknown: an error that says so, never id 0's value.
    const unlisted = ids(text);
    expect(await listedAfter(unlisted.slice(0, 3))).toBe(false);
    await expect(source([s.url]).tokenLogprobs(unlisted)).rejects.toThrow(/reports prompt id 59 as 0 .* its log-prob is unknown/);
  });

  it("old SGLang's 500 for a -inf value (plain JSON) is an error naming the cause and the server's version; newer ones write null", async () => {
    // A model that rules one token out at every position: its log-prob is -inf.
    const ruled: typeof base = Object.create(base);
    ruled.rows = async (tokens, req) => {
      const r = (await base.rows(tokens, req)) as TopKRows;
      const values = r.values.slice();
      for (let i = 0; i < r.n; i++) values[r.offsets[i + 1] - 1] = -Infinity;
      return { ...r, values };
    };
    const old = await start({ base: ruled }, { sglangPlainJson: true, sglangVersion: "0.3.0" });
    const src = source([old.url], { attempts: 2 });
    await src.preflight({ topK: 4, samples: [] });
    const e = await src.rows(randomTokens(5, 10), { topK: 4 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(String((e as UserError).message)).toMatch(/SGLang 0\.3\.0 writes plain JSON, which cannot hold a -inf/);
    expect(String((e as UserError).fix)).toMatch(/orjson/);
    const fresh = await start({ base: ruled });
    const rows = (await source([fresh.url]).rows(randomTokens(5, 10), { topK: 4 })) as TopKRows;
    expect(rows.values[3]).toBe(-Infinity); // null read as -inf
  });

  it("answers tuples (logprob, id, text) with text null, and the first input_top_logprobs entry null", async () => {
    const s = await start({ base });
    const tokens = randomTokens(6, 6);
    const raw = (await (await fetch(`${s.url}/generate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input_ids: tokens, return_logprob: true, logprob_start_len: 0, top_logprobs_num: 2 }) })).json()) as { meta_info: { input_top_logprobs: unknown[] } };
    const top = raw.meta_info.input_top_logprobs;
    expect(top[0]).toBeNull();
    expect(top.length).toBe(tokens.length);
    for (const row of top.slice(1) as unknown[][][]) {
      expect(row.length).toBe(2);
      for (const t of row) expect([typeof t[0], Number.isInteger(t[1]), t[2]]).toEqual(["number", true, null]);
    }
  });
});

describe("actualToken keep on SGLang: the prompt's own token from input_token_logprobs, never a clipped value", () => {
  const body = (own: unknown[]) => ({
    meta_info: {
      input_token_logprobs: own,
      input_top_logprobs: [null, [[-0.5, 5, null], [-1.5, 9, null]], [[-0.1, 3, null], [-2, 4, null]]],
      output_top_logprobs: [[[-0.2, 11, null], [-3, 12, null]]],
    },
  });
  it("adds the actual token beyond the top k; skips a clipped position; a real mismatch is a shape error", () => {
    const rows = parseSglangGenerate(body([[null, 0, null], [-0.5, 5, null], [-4, 6, null]]), [0, 5, 6], 2, V, "keep");
    expect(Array.from(rows.offsets)).toEqual([0, 2, 5, 7]);
    expect(Array.from(rows.ids.subarray(2, 5))).toEqual([3, 4, 6]);
    expect(rows.floor[1]).toBe(-2);
    const clipped = parseSglangGenerate(body([[null, 0, null], [-0.5, 5, null], [-9, 0, null]]), [0, 5, 6], 2, V, "keep");
    expect(Array.from(clipped.offsets)).toEqual([0, 2, 4, 6]);
    expect(() => parseSglangGenerate(body([[null, 0, null], [-0.5, 5, null], [-4, 7, null]]), [0, 5, 6], 2, V, "keep")).toThrow(ResponseShapeError);
    expect(plain(parseSglangGenerate(body([]), [0, 5, 6], 2, V, "drop"))).toEqual(plain(clipped));
  });

  it("over HTTP equals the vLLM provider's keep rows, except that a clipped token outside the top k is left out", async () => {
    const s = await start({ base }, { maxLogprobs: 20 });
    const clip = await start({ base }, { maxLogprobs: 20, sglangClip: true });
    const vllm = new VllmSource(vllmModelSchema.parse({ provider: "vllm", model: "base", urls: [s.url], actualToken: "keep" }), { vocabSize: V, role: "baseline" });
    const tokens = [...randomTokens(31, 30), V - 1, 7, V - 1, 3, V - 1];
    const want = (await vllm.rows(tokens, { topK: 3 })) as TopKRows;
    expect(plain(await source([s.url], { actualToken: "keep" }).rows(tokens, { topK: 3 }))).toEqual(plain(want));
    const got = (await source([clip.url], { actualToken: "keep" }).rows(tokens, { topK: 3 })) as TopKRows;
    let skipped = 0;
    for (let i = 0; i < tokens.length; i++) {
      const row = (r: TopKRows) => Array.from(r.ids.subarray(r.offsets[i], r.offsets[i + 1]));
      const clippedHere = tokens[i + 1] === V - 1 && !row(want).slice(0, 3).includes(V - 1);
      if (clippedHere) skipped++;
      expect(row(got)).toEqual(clippedHere ? row(want).filter((t) => t !== V - 1) : row(want));
    }
    expect(skipped).toBeGreaterThan(0);
  });
});
