import { describe, expect, it } from "vitest";
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
});
