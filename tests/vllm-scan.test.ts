/** The byte scanner for vLLM responses must give exactly what JSON.parse + parseVllmCompletion gives,
 * leave every shape it does not handle to that path ("bail"), and refuse a body that cannot be JSON
 * ("malformed") itself, as a retryable error; any other failure while scanning is an error too. */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { seededRandom } from "../pipeline/core/hash.js";
import type { TopKRows } from "../pipeline/core/rows.js";
import { classifyFailure } from "../pipeline/models/http-retry.js";
import { RowsBuilder } from "../pipeline/models/server-rows.js";
import { parseJsonBody, ResponseShapeError } from "../pipeline/models/transport-error.js";
import { parseJsonNumberText as scanJsonNumber } from "../pipeline/models/json-number.js";
import { scanVllmCompletion } from "../pipeline/models/vllm-scan.js";
import { VllmBodyStream } from "../pipeline/models/vllm-stream.js";
import { parseVllmCompletion, readVllmCompletion } from "../pipeline/models/vllm.js";

const V = 500;
const bytes = (text: string) => Buffer.from(text);

/** The reference: what the provider did before the scanner, as a comparable value or an error. */
function viaJsonParse(text: string, tokens: number[], k: number | "full", keep = false): TopKRows | Error {
  try {
    return parseVllmCompletion(parseJsonBody(text, "/v1/completions"), tokens, k, V, keep ? "keep" : "drop");
  } catch (e) {
    return e as Error;
  }
}

const dump = (r: TopKRows) => ({
  n: r.n,
  offsets: Buffer.from(r.offsets.buffer, r.offsets.byteOffset, r.offsets.byteLength).toString("hex"),
  ids: Array.from(r.ids),
  values: Buffer.from(r.values.buffer, r.values.byteOffset, r.values.byteLength).toString("hex"), // bit-exact, -0 and -inf included
  floor: Buffer.from(r.floor.buffer, r.floor.byteOffset, r.floor.byteLength).toString("hex"),
});

/** Asserts the scanner matches the reference exactly, declines (and then the reference path runs),
 * or refuses a body the reference refuses too, with an error of the same class. */
function expectSame(text: string, tokens: number[], k: number | "full", keep = false): "scanned" | "declined" | "refused" {
  // What the provider used to parse: the body as fetch's Response.text() decodes it (a BOM dropped).
  const ref = viaJsonParse(new TextDecoder().decode(bytes(text)), tokens, k, keep);
  let fast: TopKRows | undefined;
  try {
    fast = scanVllmCompletion(bytes(text), tokens, k, V, keep ? "keep" : "drop");
  } catch (e) {
    expect(ref).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf((ref as Error).constructor);
    return "refused";
  }
  if (fast) {
    expect(ref).not.toBeInstanceOf(Error);
    expect(dump(fast)).toEqual(dump(ref as TopKRows));
  }
  // The provider's entry point agrees with the reference in every case, errors included.
  let via: TopKRows | Error;
  try {
    via = readVllmCompletion(bytes(text), tokens, k, V, keep ? "keep" : "drop");
  } catch (e) {
    via = e as Error;
  }
  if (ref instanceof Error) {
    expect(via).toBeInstanceOf(ref.constructor);
    expect((via as Error).message).toBe(ref.message);
  } else expect(dump(via as TopKRows)).toEqual(dump(ref));
  return fast ? "scanned" : "declined";
}

/** A vLLM-shaped body: rows of k entries (+ the actual token sometimes), in vLLM's field order. */
function body(seed: number, n: number, k: number, opts: { decoded?: (id: number) => string; extra?: boolean; space?: string; value?: (r: () => number) => number } = {}) {
  const r = seededRandom(seed);
  const sp = opts.space ?? "";
  const prompt: string[] = ["null"];
  for (let j = 1; j < n; j++) {
    const entries: string[] = [];
    const used = new Set<number>();
    let v = -r();
    for (let s = 0; s < k + (r() < 0.3 ? 1 : 0); s++) {
      let id = Math.floor(r() * V);
      while (used.has(id)) id = (id + 1) % V;
      used.add(id);
      const value = opts.value ? opts.value(r) : v;
      v -= r() * 2;
      const fields = [`"logprob":${sp}${JSON.stringify(value) ?? "null"}`, `"rank":${sp}${s + 1}`, `"decoded_token":${sp}${JSON.stringify(opts.decoded ? opts.decoded(id) : `t${id}`)}`];
      if (opts.extra) fields.push(`"extra":${sp}{"a":[1,${sp}2.5e-3,true,false,null,"\\u00e9"]}`);
      if (r() < 0.5) fields.reverse();
      entries.push(`"${id}":${sp}{${sp}${fields.join(`,${sp}`)}${sp}}`);
    }
    prompt.push(`{${sp}${entries.join(`,${sp}`)}${sp}}`);
  }
  const top = Array.from({ length: k }, (_, s) => `"token_id:${(s * 37) % V}":${sp}${-1 - s * 0.25}`).join(`,${sp}`);
  return `{${sp}"id":${sp}"cmpl-1",${sp}"object":"text_completion","created":0,"model":"m","choices":${sp}[${sp}{"index":0,"text":"","logprobs":${sp}{"text_offset":[0],"token_logprobs":[-1.0],"tokens":["token_id:0"],"top_logprobs":${sp}[${sp}{${top}}${sp}]${sp}},"finish_reason":"length","stop_reason":null,"prompt_logprobs":${sp}[${prompt.join(`,${sp}`)}]${sp}}${sp}],"usage":{"prompt_tokens":${n},"completion_tokens":1,"total_tokens":${n + 1}}${sp}}`;
}
/** The block a body of n prompt positions answers: the prompt was the block plus one extra token. */
const toks = (n: number) => Array.from({ length: n - 1 }, (_, i) => (i * 7) % V);

describe("scanVllmCompletion gives exactly what JSON.parse + parseVllmCompletion gives", () => {
  it("on vLLM-shaped bodies, with the actual token beyond the top k dropped or kept", () => {
    for (let seed = 1; seed <= 20; seed++) {
      expect(expectSame(body(seed, 30, 5), toks(30), 5)).toBe("scanned");
      expect(expectSame(body(seed, 30, 5), toks(30), 5, true)).toBe("scanned");
    }
  });

  it("reads -9999.0 as -inf, and -0, integers, exponents and 17-digit values bit for bit", () => {
    const special = [-9999.0, -9999, -0, 0, -12, -1e-7, -2.5e-3, -1.2345678806304932, -0.30000000000000004, -123.456];
    const text = body(3, 12, 4, { value: (r) => special[Math.floor(r() * special.length)] }).replace(/"logprob":-9999([,}])/g, '"logprob":-9999.0$1');
    expect(text).toContain("-9999.0");
    expect(expectSame(text, toks(12), 4)).toBe("scanned");
    const rows = scanVllmCompletion(bytes(text), toks(12), 4, V, "drop")!;
    expect(Array.from(rows.values)).toContain(-Infinity);
  });

  it("numbers: the same double as JSON.parse for random decimals of every length (property)", () => {
    const f32 = new Float32Array(1);
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 1, max: 21 }), (x, p) => {
        f32[0] = x;
        for (const t of [JSON.stringify(x), JSON.stringify(f32[0]), x.toPrecision(p), Math.abs(x) < 1e21 ? x.toFixed(p - 1) : "1"]) {
          if (!/^-?\d/.test(t)) continue;
          expect(Object.is(scanJsonNumber(t), JSON.parse(t))).toBe(true);
        }
      }),
      { numRuns: 3000, seed: 42 },
    );
    for (const t of ["9007199254740993", "0.5000000000000000555", "-24.999999999999996", "1e400", "-1E-400", "123456789012345678901234567890"]) expect(Object.is(scanJsonNumber(t), JSON.parse(t))).toBe(true);
    for (const t of ["01", "-", "1.", ".5", "1e", "+1", "0x1"]) expect(scanJsonNumber(t)).toBeUndefined();
  });

  it("escaped strings and non-ASCII text in decoded_token, extra fields and whitespace do not change the rows", () => {
    const odd = (id: number) => ['"quoted"', "back\\slash", "new\nline\t", "é ü 中 🙂", "\u0001ctl", "\ud800 lone"][id % 6];
    expect(expectSame(body(5, 25, 6, { decoded: odd }), toks(25), 6)).toBe("scanned");
    expect(expectSame(body(6, 25, 6, { extra: true }), toks(25), 6)).toBe("scanned");
    expect(expectSame(body(7, 25, 6, { space: " \n\t\r " }), toks(25), 6)).toBe("scanned");
    expect(expectSame(body(8, 25, 6, { space: "  ", extra: true, decoded: odd }), toks(25), 6, true)).toBe("scanned");
  });

  it("reads nothing from the generated token: its top list may be missing, null or [{}] (logprobs -1)", () => {
    const good = body(12, 10, 3);
    const ref = scanVllmCompletion(bytes(good), toks(10), 3, V, "drop")!;
    for (const text of [good.replace(/"logprobs":\{[^]*?\]\},"finish_reason"/, '"logprobs":null,"finish_reason"'), good.replace(/"top_logprobs":\[\{[^\]]*\}\]/, '"top_logprobs":[{}]')]) {
      expect(text).not.toBe(good);
      expect(expectSame(text, toks(10), 3)).toBe("scanned");
      expect(dump(scanVllmCompletion(bytes(text), toks(10), 3, V, "drop")!)).toEqual(dump(ref));
    }
  });

  it("keeps only the top k in the last row (the extra token's entry is not a block token), even with actualToken keep", () => {
    const text = `{"choices":[{"prompt_logprobs":[null,{"5":{"logprob":-0.5,"rank":1},"6":{"logprob":-1,"rank":2},"7":{"logprob":-9,"rank":30}},{"3":{"logprob":-0.1,"rank":1},"4":{"logprob":-2,"rank":2},"0":{"logprob":-7,"rank":12}}]}]}`;
    expect(expectSame(text, [0, 7], 2, true)).toBe("scanned");
    const rows = scanVllmCompletion(bytes(text), [0, 7], 2, V, "keep")!;
    expect(Array.from(rows.offsets)).toEqual([0, 3, 5]);
    expect(Array.from(rows.ids)).toEqual([5, 6, 7, 3, 4]);
  });

  it("declines what it cannot vouch for, and the JSON.parse path then decides (same rows or same error)", () => {
    const good = body(9, 10, 3);
    const cases: string[] = [
      good.replace('"prompt_logprobs":', '"prompt\\u005flogprobs":'), // escaped key
      good.replace('"choices":', '"choices":[],"choices":'), // duplicate key: JSON.parse keeps the last
      good.replace(/"logprob":(-[\d.]+)/, '"logprob":-5,"logprob":$1'), // duplicate field
      good.replace(/\{"(\d+)":/, '{"0$1":'), // non-canonical token id key
      good.replace(/\{"(\d+)":\{/, '{"$1":{},"$1":{'), // token listed twice in a row
      `\ufeff${good}`, // a byte order mark
      good.replace('"prompt_logprobs":[null', '"prompt_logprobs":[{}'),
      good.replace(/"logprob":(-[\d.]+)/, '"logprob":"$1"'),
      good.replace(/"logprob":(-[\d.]+)/, '"logprob":null'),
      good.replace(/\{"(\d+)":\{/, `{"${V + 3}":{`), // outside the vocabulary: a UserError
      good.replace("[null", "[null,{}"),
    ];
    expect(expectSame(good.replace(/"logprob":(-[\d.]+)/g, '"logprob":$1e0'), toks(10), 3)).toBe("scanned"); // exponents: read by V8
    cases.forEach((text, i) => {
      expect(text).not.toBe(good);
      expect([i, expectSame(text, toks(10), 3)]).toEqual([i, "declined"]);
    });
  });

  it("a truncated body or bytes after the JSON are malformed: the scanner itself refuses them (retried), JSON.parse never runs", () => {
    const good = body(10, 20, 4);
    for (const text of [...[1, 10, good.length >> 2, good.length >> 1, good.length - 2, good.length - 1].map((cut) => good.slice(0, cut)), `${good} x`, `${good}}`]) {
      let err: unknown;
      const parse = vi.spyOn(JSON, "parse");
      try {
        readVllmCompletion(bytes(text), toks(20), 4, V, "drop");
      } catch (e) {
        err = e;
      } finally {
        expect(parse).not.toHaveBeenCalled();
        parse.mockRestore();
      }
      expect(err).toBeInstanceOf(ResponseShapeError);
      expect((err as Error).message).toMatch(/truncated|bytes after its JSON/);
      expect(classifyFailure(err).retry).toBe(true);
      expect(expectSame(text, toks(20), 4)).toBe("refused");
    }
  });

  it("a shape it does not handle is left to JSON.parse (bail), which reads the rows", () => {
    const good = body(14, 10, 3);
    const escaped = good.replace(/"logprob":/, '"logpro\u0062":-1,"logprob":'); // an escaped field name the scanner will not read
    expect(scanVllmCompletion(bytes(escaped), toks(10), 3, V, "drop")).toBeUndefined();
    expect(dump(readVllmCompletion(bytes(escaped), toks(10), 3, V, "drop"))).toEqual(dump(viaJsonParse(escaped, toks(10), 3) as TopKRows));
  });

  it("any other failure while scanning is an error, not a fallback to JSON.parse (a bug is not hidden)", () => {
    const good = body(15, 10, 3);
    const add = vi.spyOn(RowsBuilder.prototype, "add").mockImplementation(() => {
      throw new TypeError("a bug in the rows builder");
    });
    try {
      expect(() => scanVllmCompletion(bytes(good), toks(10), 3, V, "drop")).toThrow(/a bug in the rows builder/);
    } finally {
      add.mockRestore();
    }
    // The rows builder's own verdict (a row shorter than k) comes from the scanner directly.
    const short = '{"choices":[{"prompt_logprobs":[null,{"5":{"logprob":-0.5}},{"3":{"logprob":-0.1},"4":{"logprob":-2}}]}]}';
    expect(() => scanVllmCompletion(bytes(short), [0, 7], 2, V, "drop")).toThrow(/expected at least 2 entries/);
    expect(expectSame(short, [0, 7], 2)).toBe("refused");
  });

  it("a garbled body is a retryable error either way", () => {
    const good = body(10, 20, 4);
    // A body too long to be a string (full rows) that the scanner declines: a retryable shape error.
    const tooLong = (() => {
      try {
        readVllmCompletion(bytes(good.slice(0, 200)), toks(20), 4, V, "drop", 100);
      } catch (e) {
        return e;
      }
    })();
    expect(tooLong).toBeInstanceOf(ResponseShapeError);
    expect(classifyFailure(tooLong).retry).toBe(true);
    // wrong number of positions: a retryable shape error, from the same check as before
    expect(expectSame(good, toks(19), 4)).toBe("declined");
    expect(classifyFailure(viaJsonParse(good, toks(19), 4)).retry).toBe(true);
  });

  it("top-k full (long rows sorted by value, ties by id) matches too", () => {
    const r = seededRandom(11);
    const row = () => `{${Array.from({ length: V }, (_, id) => `"${id}":{"logprob":${id % 50 === 0 ? "-9999.0" : JSON.stringify(-Math.floor(r() * 8) / 4)},"rank":${id + 1}}`).join(",")}}`;
    const text = `{"choices":[{"logprobs":{"top_logprobs":[{}]},"prompt_logprobs":[null,${row()},${row()}]}]}`;
    expect(expectSame(text, toks(3), "full")).toBe("scanned");
  });
});

/** What the streaming reader (full rows) makes of `text` cut into chunks at `cuts`. */
function streamed(text: string, tokens: number[], k: number | "full", keep: boolean, seed: number): TopKRows | Error {
  const all = bytes(text);
  const r = seededRandom(seed);
  const s = new VllmBodyStream(tokens.length, k, V, keep ? "keep" : "drop");
  try {
    for (let at = 0; at < all.length; ) {
      const len = 1 + Math.floor(r() * (r() < 0.3 ? 8 : 400));
      s.push(all.subarray(at, at + len));
      at += len;
    }
    return s.end();
  } catch (e) {
    return e as Error;
  }
}

describe("VllmBodyStream (full rows read while they arrive) gives exactly the JSON.parse rows, or a retryable error", () => {
  it("on vLLM-shaped bodies cut into chunks anywhere (escapes, braces in strings, -9999.0, keep and drop)", () => {
    const odd = (id: number) => ['"quoted"', "back\\slash", "{brace}", "}", "é ü 中 🙂", "\\", '"}', '\\"{'][id % 8];
    for (let seed = 1; seed <= 12; seed++) {
      for (const keep of [false, true]) {
        const text = body(seed, 25, 5, { decoded: odd, extra: seed % 2 === 0 });
        const ref = viaJsonParse(text, toks(25), 5, keep);
        const got = streamed(text, toks(25), 5, keep, seed);
        expect(got).not.toBeInstanceOf(Error);
        expect(dump(got as TopKRows)).toEqual(dump(ref as TopKRows));
      }
    }
  });

  it("never yields rows JSON.parse would not: truncated, garbled, duplicated or misplaced bodies are retryable errors", () => {
    const good = body(9, 10, 3);
    const bad = [
      good.slice(0, good.length >> 1),
      good.slice(0, good.length - 1),
      good.replace('"usage":{', '"usage":{{'),
      good.replace('"prompt_logprobs":[null', '"prompt_logprobs":[{}'),
      good.replace(/"logprob":(-[\d.]+)/, '"logprob":null'),
      good.replace('"choices":', '"choices":[],"choices":'),
      good.replace('{"id":', '{"prompt_logprobs":[null,{"5":{"logprob":-1}}],"id":'), // another prompt_logprobs, before choices
      good.replace(/\]\}\],"usage"/, ',{"5":{"logprob":-1}}]}],"usage"'), // one position too many
      good.replace(/\]\}\],"usage"/, '],"prompt_logprobs":[null]}],"usage"'), // a later duplicate: JSON.parse keeps it
      `${good} x`,
    ];
    expect(expectSame(good, toks(10), 3)).toBe("scanned");
    let refused = 0;
    bad.forEach((text, i) => {
      expect(text).not.toBe(good);
      const ref = viaJsonParse(text, toks(10), 3);
      const got = streamed(text, toks(10), 3, false, i + 1);
      if (got instanceof Error) {
        refused++;
        expect([i, classifyFailure(got).retry]).toEqual([i, true]);
      } else {
        // rows only where JSON.parse reads the very same rows (a duplicate "choices" keeps the last)
        expect(ref).not.toBeInstanceOf(Error);
        expect([i, dump(got)]).toEqual([i, dump(ref as TopKRows)]);
      }
      if (ref instanceof Error) expect([i, got instanceof Error]).toEqual([i, true]);
    });
    expect(refused).toBe(bad.length - 1); // all but the duplicate "choices" (JSON.parse keeps the last: the same rows)
    // the wrong number of positions
    expect(streamed(good, toks(9), 3, false, 1)).toBeInstanceOf(ResponseShapeError);
    expect(streamed(good, toks(11), 3, false, 1)).toBeInstanceOf(ResponseShapeError);
  });

  it("full rows (every vocabulary entry) match too", () => {
    const r = seededRandom(13);
    const row = () => `{${Array.from({ length: V }, (_, id) => `"${id}":{"logprob":${id % 50 === 0 ? "-9999.0" : JSON.stringify(-Math.floor(r() * 8) / 4)},"rank":${id + 1},"decoded_token":"t${id}"}`).join(",")}}`;
    const text = `{"id":"c","choices":[{"index":0,"text":"","logprobs":null,"prompt_logprobs":[null,${row()},${row()},${row()}]}],"usage":{"prompt_tokens":4}}`;
    const got = streamed(text, toks(4), "full", false, 3);
    expect(dump(got as TopKRows)).toEqual(dump(viaJsonParse(text, toks(4), "full") as TopKRows));
  });
});
