/**
 * Turning corpus bytes into text, refusing what is not text. Pure: bytes in, text or a reason out.
 */

/** WHATWG UTF-8 with `fatal: true`: throws on exactly the sequences the scan below reports (overlongs,
 * surrogates, code points above U+10FFFF, cut-off sequences), and strips a leading BOM. */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

export type DecodeResult =
  | { ok: true; text: string; hadBom: boolean; crlf: number }
  | { ok: false; problem: string; fix: string };

/** Decodes UTF-8, strips a byte-order mark and turns CRLF / lone CR into LF (counted, not hidden). */
export function decodeCorpusBytes(bytes: Uint8Array): DecodeResult {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    return { ok: false, problem: `looks binary (NUL byte at byte ${nul}, ${lineAt(bytes, nul)})`, fix: "remove it from the corpus, or convert it to plain text first" };
  }
  // Native validation first (one pass, and the decode the text needs anyway); the byte scan below
  // only runs on failure, to say where.
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    const bad = scanInvalidUtf8(bytes);
    if (bad < 0) throw new Error("internal: TextDecoder refused bytes the UTF-8 scan accepts");
    return {
      ok: false,
      problem: `is not valid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, "0")} at byte ${bad}, ${lineAt(bytes, bad)})`,
      fix: "re-encode it as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.txt > out.txt`",
    };
  }
  // TextDecoder drops a leading BOM itself, so look for it in the bytes.
  const hadBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  let crlf = 0;
  text = text.replace(/\r\n?/g, () => {
    crlf++;
    return "\n";
  });
  return { ok: true, text, hadBom, crlf };
}

function lineAt(bytes: Uint8Array, offset: number): string {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return `line ${line}`;
}

/** Index of the first byte that breaks UTF-8 (overlongs, surrogates and truncation included), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  try {
    STRICT_UTF8.decode(b);
    return -1;
  } catch {
    return scanInvalidUtf8(b);
  }
}

/** The byte scan that locates the first invalid byte (the decoder only says that there is one). */
function scanInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [need, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [need, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need > b.length - 1) return i; // truncated sequence at the end
    let cp = c & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const cc = b[i + k];
      if ((cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}
