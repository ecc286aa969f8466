/** The scanner's fast paths (vllm-scan-entry.ts for vLLM's exact entry layout, json-number.ts's
 * shortcuts for 16-19 digit numbers) must agree with JSON.parse + parseVllmCompletion bit for bit,
 * and leave every other byte sequence to the general reader. */
import { describe, expect, it } from "vitest";
import { seededRandom } from "../pipeline/core/hash.js";
import type { TopKRows } from "../pipeline/core/rows.js";
import { parseJsonNumberText } from "../pipeline/models/json-number.js";
import { parseJsonBody } from "../pipeline/models/transport-error.js";
import { fastEntry, fastEntryOut } from "../pipeline/models/vllm-scan-entry.js";
import { scanVllmCompletion } from "../pipeline/models/vllm-scan.js";
import { parseVllmCompletion, readVllmCompletion } from "../pipeline/models/vllm.js";

const V = 300;
const f32 = new Float32Array(1);

/** A body in vLLM's released layout (compact, its field order, the actual token first, float32 values
 * as Python writes them), as bench/replay-bodies.ts builds them. */
function vllmBody(seed: number, n: number, k: number, decoded: (id: number) => string = (id) => `t${id}`): string {
  const r = seededRandom(seed);
  const rows = ["null"];
  for (let j = 1; j < n; j++) {
    const ids = new Set<number>();
    while (ids.size < k + (r() < 0.5 ? 1 : 0)) ids.add(Math.floor(r() * V));
    let v = -r();
    const entries = [...ids].map((id, s) => {
      f32[0] = v;
      v -= r() * 3;
      const value = r() < 0.05 ? "-9999.0" : JSON.stringify(f32[0]);
      return `"${id}":{"logprob":${value},"rank":${s + 1},"decoded_token":${JSON.stringify(decoded(id))}}`;
    });
    rows.push(`{${entries.join(",")}}`);
  }
  return `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" a","logprobs":null,"finish_reason":"length","stop_reason":null,"prompt_logprobs":[${rows.join(",")}]}],"usage":{"prompt_tokens":${n},"total_tokens":${n + 1},"completion_tokens":1,"prompt_tokens_details":null}}`;
}
const toks = (n: number) => Array.from({ length: n - 1 }, (_, i) => (i * 7) % V);

const dump = (r: TopKRows) => ({
  offsets: Array.from(r.offsets),
  ids: Array.from(r.ids),
  values: Buffer.from(r.values.buffer, r.values.byteOffset, r.values.byteLength).toString("hex"),
  floor: Buffer.from(r.floor.buffer, r.floor.byteOffset, r.floor.byteLength).toString("hex"),
});

function outcome(fn: () => TopKRows | undefined): ReturnType<typeof dump> | string | undefined {
  try {
    const rows = fn();
    return rows && dump(rows);
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

/** Scanner and reader against the JSON.parse path on the same bytes; returns what the scanner did. */
function agree(body: Buffer, tokens: number[], k: number, keep: boolean): "scanned" | "declined" | "refused" {
  const mode = keep ? "keep" : "drop";
  const ref = outcome(() => parseVllmCompletion(parseJsonBody(new TextDecoder().decode(body), "/v1/completions"), tokens, k, V, mode));
  const fast = outcome(() => scanVllmCompletion(body, tokens, k, V, mode));
  const via = outcome(() => readVllmCompletion(body, tokens, k, V, mode));
  if (typeof ref === "string") expect(typeof via === "string" && via.split(":")[0]).toBe(ref.split(":")[0]);
  else expect(via).toEqual(ref);
  if (fast === undefined) return "declined";
  if (typeof fast === "string") {
    expect(typeof ref).toBe("string"); // the scanner refuses only what JSON.parse refuses
    return "refused";
  }
  expect(fast).toEqual(ref);
  return "scanned";
}

describe("the fast entry path", () => {
  it("reads every entry of vLLM's layout itself (id, value, end), escapes in decoded_token left to the general reader", () => {
    const text = vllmBody(1, 20, 6);
    const s = Buffer.from(text);
    let n = 0;
    for (const m of text.matchAll(/"(\d+)":(\{"logprob":([^,]+),"rank":\d+,"decoded_token":"t\d+"\})/g)) {
      expect(fastEntry(s, m.index!)).toBe(Number(m[1]));
      expect(Object.is(fastEntryOut.value, JSON.parse(m[3]))).toBe(true);
      expect(fastEntryOut.end).toBe(m.index! + m[0].length);
      n++;
    }
    expect(n).toBeGreaterThan(19 * 6);
    const at = (entry: string) => fastEntry(Buffer.from(entry), 0);
    expect(at('"7":{"logprob":-1.5,"rank":2,"decoded_token":"a\\"b"}')).toBe(-1);
    expect(at('"7":{"logprob":-1.5,"rank":2,"decoded_token":"a\u0001"}')).toBe(-1);
    expect(at('"07":{"logprob":-1.5,"rank":2,"decoded_token":"a"}')).toBe(-1);
    expect(at('"00":{"logprob":-1.5,"rank":2,"decoded_token":"a"}')).toBe(-1);
    expect(at('"1234567890":{"logprob":-1.5,"rank":2,"decoded_token":"a"}')).toBe(-1);
    expect(at('"123456789":{"logprob":-1.5,"rank":2,"decoded_token":"a"}')).toBe(123456789);
    expect(at('"7":{"logprob":-1.5,"rank":02,"decoded_token":"a"}')).toBe(-1);
    expect(at('"7":{"logprob":-1.5,"rank":2.0,"decoded_token":"a"}')).toBe(-1);
    expect(at('"7":{"logprob":-1.5,"rank":2,"decoded_token":"a","x":1}')).toBe(-1);
    expect(at('"7": {"logprob":-1.5,"rank":2,"decoded_token":"a"}')).toBe(-1);
    expect(at('"7":{"logprob":-1.5,"rank":2,"decoded_token":"a')).toBe(-1); // truncated: the general reader says so
    expect(at('"0":{"logprob":-0,"rank":1,"decoded_token":"é 中"}')).toBe(0);
  });

  it("vLLM-layout bodies are scanned and agree bit for bit, drop and keep, odd tokens included", () => {
    const odd = (id: number) => ['"q"', "b\\s", "n\nl", "é 🙂", "\u0001", "}", "{", ""][id % 8];
    for (let seed = 1; seed <= 10; seed++)
      for (const keep of [false, true]) {
        expect(agree(Buffer.from(vllmBody(seed, 16, 5)), toks(16), 5, keep)).toBe("scanned");
        expect(agree(Buffer.from(vllmBody(seed, 16, 5, odd)), toks(16), 5, keep)).toBe("scanned");
      }
  });

  it("an id listed twice in a row (each entry in vLLM's layout) is the JSON.parse path's to judge", () => {
    const text = vllmBody(3, 6, 4);
    // the second entry of the first row takes the first entry's id
    const first = /\[null,\{"(\d+)":\{[^}]*\},"(\d+)"/.exec(text)!;
    const twice = text.replace(first[0], first[0].slice(0, -first[2].length - 2) + `"${first[1]}"`);
    expect(twice.split(`"${first[1]}":`).length).toBe(text.split(`"${first[1]}":`).length + 1);
    expect(twice).not.toBe(text);
    for (const keep of [false, true]) expect(agree(Buffer.from(twice), toks(6), 4, keep)).toBe("declined");
  });

  it("any one byte changed, removed or added in the rows agrees with JSON.parse (property over positions)", () => {
    const text = vllmBody(7, 4, 3, (id) => (id % 3 === 0 ? 'x"y' : `t${id}`));
    const base = Buffer.from(text);
    const from = text.indexOf("[null,") + 6;
    const to = text.indexOf("]}],");
    const r = seededRandom(99);
    const pool = Buffer.from('"\\:,{}[] \n09-.eE+xlnu\u0001');
    const seen = { scanned: 0, declined: 0, refused: 0 };
    for (let at = from; at < to; at++) {
      for (let t = 0; t < 3; t++) {
        const b = pool[Math.floor(r() * pool.length)];
        const changed = Buffer.from(base);
        changed[at] = b;
        const removed = Buffer.concat([base.subarray(0, at), base.subarray(at + 1)]);
        const added = Buffer.concat([base.subarray(0, at), Buffer.from([b]), base.subarray(at)]);
        for (const body of [changed, removed, added]) seen[agree(body, toks(4), 3, r() < 0.5)]++;
      }
    }
    // every verdict occurs: the mutations reach the fast path's fallbacks, not only its happy path
    expect(seen.scanned).toBeGreaterThan(100);
    expect(seen.declined).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(0);
  });
});

/** The exact decimal expansion of a positive double (every binary fraction has a finite one). */
function exactDecimal(x: number): string {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  const hiw = b.getUint32(0);
  const e = (hiw >>> 20) & 0x7ff;
  const mant = (BigInt(hiw & 0xfffff) << 32n) | BigInt(b.getUint32(4));
  const m = e === 0 ? mant : mant | (1n << 52n);
  const p = (e === 0 ? 1 : e) - 1075; // x = m * 2^p
  if (p >= 0) return (m << BigInt(p)).toString();
  const digits = (m * 5n ** BigInt(-p)).toString().padStart(-p + 1, "0"); // m * 5^-p / 10^-p
  return `${digits.slice(0, p)}.${digits.slice(p)}`;
}

/** The decimal text's first `sig` significant digits (truncated), then `bump` added to the last. */
function truncated(text: string, sig: number, bump: number): string {
  const point = text.indexOf(".");
  const all = text.replace(".", "");
  const lead = all.search(/[1-9]/);
  const s = (BigInt(all.slice(0, lead + sig) || "0") + BigInt(bump)).toString().padStart(lead + sig, "0");
  const intLen = point < 0 ? all.length : point;
  return intLen >= s.length ? s + "0".repeat(intLen - s.length) : `${s.slice(0, intLen) || "0"}.${s.slice(intLen)}`;
}

describe("16-19 digit numbers (Python's float32 reprs) give JSON.parse's double", () => {
  it("on float32 values of every magnitude the logprobs take", () => {
    const r = seededRandom(5);
    for (let j = 0; j < 20_000; j++) {
      f32[0] = -Math.exp(r() * 60 - 45) * (1 + r());
      const t = JSON.stringify(f32[0]);
      expect(Object.is(parseJsonNumberText(t), JSON.parse(t))).toBe(true);
    }
  });

  it("right at and next to the midpoints between neighbouring doubles (where rounding is decided)", () => {
    const r = seededRandom(11);
    let fails = 0;
    for (let j = 0; j < 4000; j++) {
      const x = Math.exp(r() * 30 - 15);
      // The exact midpoint between x and the next double up, from their exact expansions.
      const next = exactDecimal(nextUp(x));
      const midText = halfSum(exactDecimal(x), next);
      for (const sig of [16, 17, 18, 19])
        for (const bump of [-1, 0, 1]) {
          const t = truncated(midText, sig, bump);
          for (const s of [t, `-${t}`]) if (!Object.is(parseJsonNumberText(s), JSON.parse(s))) fails++;
        }
    }
    expect(fails).toBe(0);
  });
});

function nextUp(x: number): number {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  b.setBigUint64(0, b.getBigUint64(0) + 1n);
  return b.getFloat64(0);
}

/** (a + b) / 2 of two exact positive decimal texts, exactly. */
function halfSum(a: string, b: string): string {
  const scale = Math.max(fracLen(a), fracLen(b)) + 1;
  const big = (t: string) => BigInt(t.replace(".", "") + "0".repeat(scale - fracLen(t)));
  const s = ((big(a) + big(b)) * 5n).toString().padStart(scale + 1, "0"); // (a + b) / 2 = (a + b) * 5 / 10
  return `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`;
}
const fracLen = (t: string) => (t.includes(".") ? t.length - t.indexOf(".") - 1 : 0);
