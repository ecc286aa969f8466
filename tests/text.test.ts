import { describe, expect, it } from "vitest";
import { seededRandom } from "../pipeline/core/hash.js";
import { decodeCorpusBytes, firstInvalidUtf8 } from "../pipeline/core/text.js";

const bytes = (...b: number[]) => Uint8Array.from(b);
const utf8 = (s: string) => new TextEncoder().encode(s);

describe("reading corpus bytes", () => {
  it("strips a BOM and turns CRLF and lone CR into LF, counting them", () => {
    const r = decodeCorpusBytes(Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8("a\r\nb\rc\n")]));
    expect(r).toEqual({ ok: true, text: "a\nb\nc\n", hadBom: true, crlf: 2 });
  });

  it("refuses a binary file, naming the byte and line", () => {
    const r = decodeCorpusBytes(Uint8Array.from([...utf8("ok\nfine\n"), 0x00, 0x01]));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toBe("looks binary (NUL byte at byte 8, line 3)");
  });

  it("refuses invalid UTF-8 (latin-1 text), naming the byte and line, with the fix", () => {
    const r = decodeCorpusBytes(Uint8Array.from([...utf8("line one\ncaf"), 0xe9, ...utf8("\n")]));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problem).toBe("is not valid UTF-8 (byte 0xe9 at byte 12, line 2)");
      expect(r.fix).toContain("iconv");
    }
  });

  it("finds overlong, surrogate and truncated sequences", () => {
    expect(firstInvalidUtf8(utf8("héllo 😀"))).toBe(-1);
    expect(firstInvalidUtf8(bytes(0x41, 0xc0, 0x80))).toBe(1); // overlong
    expect(firstInvalidUtf8(bytes(0xed, 0xa0, 0x80))).toBe(0); // UTF-16 surrogate
    expect(firstInvalidUtf8(bytes(0x41, 0xe2, 0x82))).toBe(1); // cut off
    expect(firstInvalidUtf8(bytes(0xf4, 0x90, 0x80, 0x80))).toBe(0); // above U+10FFFF
  });

  it("the byte scan points exactly where WHATWG's fatal decoder fails: valid before, no valid character starting there", () => {
    // Bytes around every boundary of the UTF-8 table (lead ranges, continuation limits, E0/ED/F0/F4).
    const pool = [0x41, 0x0a, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff];
    const rand = seededRandom(7);
    const valid = (b: Uint8Array) => {
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(b);
        return true;
      } catch {
        return false;
      }
    };
    let invalid = 0;
    for (let n = 0; n < 20_000; n++) {
      const b = Uint8Array.from({ length: 1 + Math.floor(rand() * 8) }, () => pool[Math.floor(rand() * pool.length)]);
      const bad = firstInvalidUtf8(b);
      expect(bad === -1, `${[...b]}`).toBe(valid(b));
      if (bad < 0) continue;
      invalid++;
      expect(valid(b.subarray(0, bad)), `${[...b]} @${bad}`).toBe(true);
      for (let k = 1; k <= 4 && bad + k <= b.length; k++) expect(valid(b.subarray(0, bad + k)), `${[...b]} @${bad}+${k}`).toBe(false);
    }
    expect(invalid).toBeGreaterThan(1000);
  });
});
