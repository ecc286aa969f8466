import { describe, expect, it } from "vitest";
import { ResponseShapeError } from "../pipeline/models/http-retry.js";
import { parseSglangGenerate, SglangSource, sglangModelSchema } from "../pipeline/models/sglang.js";
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
    // context_length null (a default launch): the limit comes from scheduler_info.max_req_input_len (63).
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
