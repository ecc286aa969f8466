/**
 * The fast path of the vLLM body scanner (vllm-scan.ts) for one prompt_logprobs entry in the exact
 * layout vLLM writes, compact and in its field order:
 *   "<id>":{"logprob":<number>,"rank":<digits>,"decoded_token":"<plain string>"}
 * It checks the fixed bytes in one pass instead of reading each key as a string and comparing it,
 * does not parse the rank (only checks it is digits), and skips the decoded token's text with a
 * table lookup per byte. Anything else (whitespace, another key order, an escape in the token, a
 * truncated body...) returns -1 with nothing consumed, and the caller reads the entry the general way,
 * which decides rows, bail or error as it always did. So this path only ever accepts entries the
 * general path reads to the same (id, value), and never decides an error itself. Pure.
 */
import { numberEnd as importedNumberEnd, readJsonNumber as importedReadJsonNumber } from "./json-number.js";

// Module-local copies of the imports: run through tsx (the benches, the tests) each use of an imported
// name is a getter call, ~10% of this path in a profile; a local const costs nothing.
const readJsonNumber = importedReadJsonNumber;
const numberEnd = importedNumberEnd;

/** The logprob of the last entry fastEntry accepted, and the index after its closing '}'. */
export const fastEntryOut = { value: 0, end: 0 };

/** PLAIN[c] = 1 for a byte that stands for itself inside a JSON string: not '"', not '\', not a control
 * character (which must be escaped). Bytes >= 0x80 are UTF-8, plain as far as JSON is concerned. */
const PLAIN = new Uint8Array(256);
for (let c = 32; c < 256; c++) PLAIN[c] = c === 34 || c === 92 ? 0 : 1;

/**
 * The entry starting at s[i] (its key's opening quote): returns the token id and sets fastEntryOut, or
 * -1 when the bytes are not exactly the layout above (with an id in canonical form below 10^9).
 */
export function fastEntry(s: Uint8Array, i: number): number {
  if (s[i] !== 34) return -1;
  // The id: "0" or [1-9][0-9]{0,8}, as intKey accepts.
  let c = s[++i];
  let id = c - 48;
  if (id === 0) c = s[++i];
  else if (id > 0 && id <= 9) {
    const last = i + 9;
    c = s[++i];
    while (c >= 48 && c <= 57 && i < last) {
      id = id * 10 + (c - 48);
      c = s[++i];
    }
  } else return -1;
  // '":{"logprob":' (12 bytes)
  if (
    c !== 34 ||
    s[i + 1] !== 58 ||
    s[i + 2] !== 123 ||
    s[i + 3] !== 34 ||
    s[i + 4] !== 108 || // l
    s[i + 5] !== 111 || // o
    s[i + 6] !== 103 || // g
    s[i + 7] !== 112 || // p
    s[i + 8] !== 114 || // r
    s[i + 9] !== 111 || // o
    s[i + 10] !== 98 || // b
    s[i + 11] !== 34 ||
    s[i + 12] !== 58
  )
    return -1;
  const value = readJsonNumber(s, i + 13);
  if (value !== value) return -1;
  i = numberEnd.at;
  // ',"rank":' (8 bytes), then a JSON integer that is not read.
  if (s[i] !== 44 || s[i + 1] !== 34 || s[i + 2] !== 114 || s[i + 3] !== 97 || s[i + 4] !== 110 || s[i + 5] !== 107 || s[i + 6] !== 34 || s[i + 7] !== 58) return -1;
  i += 8;
  c = s[i];
  if (c === 48) c = s[++i];
  else if (c >= 49 && c <= 57) {
    do c = s[++i];
    while (c >= 48 && c <= 57);
  } else return -1;
  // ',"decoded_token":"' (18 bytes)
  if (
    c !== 44 ||
    s[i + 1] !== 34 ||
    s[i + 2] !== 100 || // d
    s[i + 3] !== 101 || // e
    s[i + 4] !== 99 || // c
    s[i + 5] !== 111 || // o
    s[i + 6] !== 100 || // d
    s[i + 7] !== 101 || // e
    s[i + 8] !== 100 || // d
    s[i + 9] !== 95 || // _
    s[i + 10] !== 116 || // t
    s[i + 11] !== 111 || // o
    s[i + 12] !== 107 || // k
    s[i + 13] !== 101 || // e
    s[i + 14] !== 110 || // n
    s[i + 15] !== 34 ||
    s[i + 16] !== 58 ||
    s[i + 17] !== 34
  )
    return -1;
  i += 18;
  // The token's text up to its closing quote; an escape, a control character or the end of the
  // bytes (PLAIN[undefined] is undefined) leaves the entry to the general path.
  while (PLAIN[s[i]] === 1) i++;
  if (s[i] !== 34 || s[i + 1] !== 125) return -1;
  fastEntryOut.value = value;
  fastEntryOut.end = i + 2;
  return id;
}
