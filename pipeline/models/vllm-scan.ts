/**
 * A hand-written reader for vLLM /v1/completions bodies that fills the rows' typed arrays straight
 * from the response bytes. JSON.parse would build ~20 objects per prompt position (one per listed
 * token) only for parseVllmCompletion to walk and drop them, and decoding the bytes to a string first
 * cost ~3 ms per 0.7 MB body on Node 20: together most of the client's time per request.
 *
 * Contract: scanVllmCompletion returns exactly what parseVllmCompletion(JSON.parse(text), ...) returns
 * (text = the body decoded as fetch's Response.text() does), or one of two verdicts:
 * - "bail", `undefined`: a shape it does not handle or cannot vouch for (escaped or duplicate keys,
 *   non-canonical ids, a value that is not a number, a different layout...). The caller then takes
 *   the JSON.parse path, which decides rows or error as it always did.
 * - "malformed": it throws a ResponseShapeError (retried) for a body that cannot be JSON at all: it
 *   ends inside a value (truncated), or has bytes after the top-level value. JSON.parse would refuse
 *   it too, so nothing is gained by running it.
 * Any other error met while scanning (the rows builder's shape errors, a bug of ours) is thrown as
 * it is, never turned into a fallback that would hide it. Pure, synchronous.
 */
import type { TopKRows } from "../core/rows.js";
import { numberEnd as importedNumberEnd, readJsonNumber as importedReadJsonNumber } from "./json-number.js";
import { fastEntry as importedFastEntry, fastEntryOut as importedFastEntryOut } from "./vllm-scan-entry.js";
import { RowsBuilder, type ActualTokenMode } from "./server-rows.js";
import { ResponseShapeError } from "./transport-error.js";

// Module-local copies of the imports used per entry: run through tsx (the benches, the tests) each use
// of an imported name is a getter call, which a profile showed at ~7-10% of the scan; a local const
// costs nothing under either loader.
const readJsonNumber = importedReadJsonNumber;
const numberEnd = importedNumberEnd;
const fastEntry = importedFastEntry;
const fastEntryOut = importedFastEntryOut;

/** Thrown inside the scanner to abandon the fast path (a shape it does not handle); never escapes
 * this file. */
class Bail {}
const BAIL = new Bail();
/** Thrown inside the scanner when the input ends where JSON needs more: the body is truncated. */
const TRUNCATED = new Bail();
/** Thrown when bytes follow the top-level value: not JSON. */
const TRAILING = new Bail();

/** Per-row duplicate-key detection: seenStamp[id] === stamp means the id is already in this row.
 * Shared across calls (the scan is synchronous) so a request does not allocate a vocabulary-sized array. */
let seenStamp = new Int32Array(0);
let stamp = 0;

const Q = 34; // "
const BACKSLASH = 92;

export class Scanner {
  i = 0;
  readonly len: number;
  constructor(readonly s: Uint8Array) {
    this.len = s.length;
  }

  ws(): number {
    const s = this.s;
    let i = this.i;
    let c = s[i];
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s[++i];
    this.i = i;
    return c; // undefined past the end
  }

  /** Skips whitespace, then requires character `ch`. */
  expect(ch: number): void {
    const c = this.ws();
    if (c === undefined) throw TRUNCATED;
    if (c !== ch) throw BAIL;
    this.i++;
  }

  /** After a value in an object/array: true when another element follows (consumes ',' or the closer). */
  more(closer: number): boolean {
    const c = this.ws();
    this.i++;
    if (c === 44) return true;
    if (c === closer) return false;
    throw c === undefined ? TRUNCATED : BAIL;
  }

  /** Opens an object; false when it is empty ("{}" consumed). */
  openObject(): boolean {
    this.expect(123);
    if (this.ws() === 125) {
      this.i++;
      return false;
    }
    return true;
  }

  /** Reads a string at the cursor (after whitespace); returns [start, end) of its raw contents, or -1
   * as end when it holds escapes (the contents are validated either way). */
  rawString(): number {
    const first = this.ws();
    if (first === undefined) throw TRUNCATED;
    if (first !== Q) throw BAIL;
    const s = this.s;
    let i = ++this.i;
    const len = this.len;
    let escaped = false;
    for (;;) {
      if (i >= len) throw TRUNCATED;
      const c = s[i];
      if (c === Q) break;
      if (c === BACKSLASH) {
        escaped = true;
        const e = s[i + 1];
        if (e === 117) {
          for (let h = 2; h < 6; h++) {
            const x = s[i + h];
            if (!((x >= 48 && x <= 57) || (x >= 65 && x <= 70) || (x >= 97 && x <= 102))) throw BAIL;
          }
          i += 6;
        } else if (e === Q || e === BACKSLASH || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) i += 2;
        else throw BAIL;
      } else if (c < 32) throw BAIL; // control characters must be escaped; bytes >= 0x80 are UTF-8
      else i++;
    }
    const start = this.i;
    this.i = i + 1;
    return escaped ? -1 : start;
  }

  /** A key followed by ':'; returns its start, or -1 when escaped. `keyEnd` holds its end. */
  keyEnd = 0;
  key(): number {
    const start = this.rawString();
    this.keyEnd = this.i - 1;
    this.expect(58);
    return start;
  }

  keyIs(start: number, name: string): boolean {
    return start >= 0 && this.keyEnd - start === name.length && this.startsWith(name, start);
  }

  startsWith(word: string, at: number): boolean {
    const s = this.s;
    if (at + word.length > this.len) return false;
    for (let j = 0; j < word.length; j++) if (s[at + j] !== word.charCodeAt(j)) return false;
    return true;
  }

  /** A JSON number at the cursor, as JSON.parse reads it (the same double, bit for bit). */
  number(): number {
    const v = readJsonNumber(this.s, this.i);
    if (v !== v) throw BAIL;
    this.i = numberEnd.at;
    return v;
  }

  literal(word: string): void {
    if (this.i + word.length > this.len && this.startsWith(word.slice(0, this.len - this.i), this.i)) throw TRUNCATED;
    if (!this.startsWith(word, this.i)) throw BAIL;
    this.i += word.length;
  }

  /** Skips any JSON value, validating it. */
  skipValue(depth = 0): void {
    if (depth > 512) throw BAIL;
    const c = this.ws();
    if (c === undefined) throw TRUNCATED;
    if (c === Q) this.rawString();
    else if (c === 123) {
      if (this.openObject())
        do {
          this.key();
          this.skipValue(depth + 1);
        } while (this.more(125));
    } else if (c === 91) {
      this.i++;
      if (this.ws() === 93) this.i++;
      else
        do this.skipValue(depth + 1);
        while (this.more(93));
    } else if (c === 116) this.literal("true");
    else if (c === 102) this.literal("false");
    else if (c === 110) this.literal("null");
    else this.number();
  }

  /** A non-negative decimal integer key in canonical form (what Number(key) reads the same way), or -1. */
  intKey(start: number, end: number): number {
    const len = end - start;
    if (start < 0 || len < 1 || len > 9) return -1;
    const s = this.s;
    if (len > 1 && s[start] === 48) return -1;
    let v = 0;
    for (let i = start; i < end; i++) {
      const c = s[i];
      if (c < 48 || c > 57) return -1;
      v = v * 10 + (c - 48);
    }
    return v;
  }
}

/** Returns the rows, undefined (bail: take the JSON.parse path), or throws (see the file comment). */
export function scanVllmCompletion(body: Uint8Array, tokens: readonly number[], k: number | "full", vocabSize: number, actualToken: ActualTokenMode): TopKRows | undefined {
  const n = tokens.length;
  if (n === 0) return undefined;
  if (seenStamp.length < vocabSize) {
    seenStamp = new Int32Array(vocabSize);
    stamp = 0;
  }
  const sc = new Scanner(body);
  try {
    return scan(sc, n, k, vocabSize, actualToken);
  } catch (e) {
    if (e === BAIL) return undefined;
    if (e === TRUNCATED) throw new ResponseShapeError(`the response ends inside its JSON (truncated after ${body.length} bytes)`);
    if (e === TRAILING) throw new ResponseShapeError(`the response has bytes after its JSON value (at byte ${sc.i})`);
    // The rows builder's own errors (a row too short, fewer rows than tokens) and anything else: an
    // error, not a fallback (a fallback would hide a bug of ours behind JSON.parse's verdict).
    throw e;
  }
}

function nextStamp(): number {
  if (++stamp >= 0x7fffffff) {
    seenStamp.fill(0);
    stamp = 1;
  }
  return stamp;
}

/** One prompt_logprobs row, {"<id>": {"logprob": v, ...}, ...}, at the cursor into the builder.
 * Shared by the whole-body scanner and the streaming reader (vllm-stream.ts). */
export function scanRow(sc: Scanner, b: RowsBuilder, vocabSize: number, exactTopK: boolean): void {
  if (!sc.openObject()) throw BAIL; // an empty row: too short, the JSON.parse path says so
  const st = nextStamp();
  const s = sc.s;
  do {
    // vLLM's own layout in one pass (vllm-scan-entry.ts); any other bytes are read the general way.
    if (sc.ws() === Q) {
      const fastId = fastEntry(s, sc.i);
      if (fastId >= 0) {
        if (fastId >= vocabSize || seenStamp[fastId] === st) throw BAIL;
        seenStamp[fastId] = st;
        sc.i = fastEntryOut.end;
        b.add(fastId, fastEntryOut.value);
        continue;
      }
    }
    const kStart = sc.key();
    const id = sc.intKey(kStart, sc.keyEnd);
    if (id < 0 || id >= vocabSize || seenStamp[id] === st) throw BAIL;
    seenStamp[id] = st;
    let value = NaN;
    let got = false;
    if (!sc.openObject()) throw BAIL;
    do {
      const f = sc.key();
      if (f < 0) throw BAIL;
      if (sc.keyIs(f, "logprob")) {
        if (got) throw BAIL;
        got = true;
        if (sc.ws() === 110) throw BAIL; // null
        value = sc.number();
      } else sc.skipValue();
    } while (sc.more(125));
    if (!got) throw BAIL;
    b.add(id, value);
  } while (sc.more(125));
  b.endRow(exactTopK);
}

/** Whether an error came from the scanner giving up on a row, for either reason (rather than from the
 * rows builder). */
export const isBail = (e: unknown) => e === BAIL || e === TRUNCATED || e === TRAILING;

/** Makes sure the per-row duplicate detection covers a vocabulary of this size. */
export function prepareScan(vocabSize: number): void {
  if (seenStamp.length < vocabSize) {
    seenStamp = new Int32Array(vocabSize);
    stamp = 0;
  }
}

function scan(sc: Scanner, n: number, k: number | "full", vocabSize: number, actualToken: ActualTokenMode): TopKRows {
  const b = new RowsBuilder(n, vocabSize, k, actualToken);
  let rowsDone = false;

  const choice = () => {
    let seenPrompt = false;
    if (sc.openObject())
      do {
        const key = sc.key();
        if (key < 0) throw BAIL; // an escaped key could spell a name that matters
        if (sc.keyIs(key, "prompt_logprobs")) {
          if (seenPrompt) throw BAIL;
          seenPrompt = true;
          promptRows();
          rowsDone = true;
        } else sc.skipValue();
      } while (sc.more(125));
  };

  // n + 1 positions: null, then one row per block token (the last one predicts the extra token).
  const promptRows = () => {
    sc.expect(91);
    sc.ws();
    sc.literal("null");
    let rows = 0;
    while (sc.more(93)) {
      if (++rows > n) throw BAIL;
      scanRow(sc, b, vocabSize, rows === n);
    }
    if (rows !== n) throw BAIL;
  };

  let seenChoices = false;
  if (!sc.openObject()) throw BAIL;
  do {
    const key = sc.key();
    if (key < 0) throw BAIL;
    if (sc.keyIs(key, "choices")) {
      if (seenChoices) throw BAIL;
      seenChoices = true;
      sc.expect(91);
      choice();
      while (sc.more(93)) sc.skipValue();
    } else sc.skipValue();
  } while (sc.more(125));
  if (sc.ws() !== undefined) throw TRAILING; // text after the value: not JSON
  if (!rowsDone) throw BAIL;
  return b.finish();
}
