/**
 * Reads a vLLM /v1/completions body while it arrives, for full rows (`logits.topK: full`): such a body
 * is ~70 bytes of JSON per vocabulary entry per position, about a gigabyte per 512-token block, more
 * than V8 can hold as one string and eight times the rows it carries. Here only the rows (8 bytes per
 * entry) and one row's JSON at a time are held.
 *
 * vLLM writes compact JSON (FastAPI's JSONResponse), its `prompt_logprobs` array in choices[0]. The
 * reader keeps the bytes before `"prompt_logprobs":[` (the prefix), cuts the array into rows by
 * brace depth (string- and escape-aware), scans each row with the whole-body scanner's row reader
 * (vllm-scan.ts), and keeps the bytes after the array (the suffix). At the end the skeleton
 * `prefix + ["<sentinel>"] + suffix` must parse as JSON with the sentinel at
 * choices[0].prompt_logprobs: so
 * the rest of the body is valid JSON, the array read is the one JSON.parse would keep, and it sits
 * where parseVllmCompletion reads it. A body in another shape (whitespace around that key, escaped
 * keys, ...) is a ResponseShapeError (retried), never other rows. Pure, synchronous per chunk.
 */
import type { TopKRows } from "../core/rows.js";
import { parseJsonBody, ResponseShapeError } from "./transport-error.js";
import { RowsBuilder, type ActualTokenMode } from "./server-rows.js";
import { isBail, prepareScan, Scanner, scanRow } from "./vllm-scan.js";

const KEY = Buffer.from('"prompt_logprobs":[');
const SENTINEL = "whp: the rows were here";
/** Longest prefix or suffix kept: they hold the response's small fields only. */
const MAX_EDGE = 1 << 20;

const enum Phase {
  Prefix,
  First, // expecting the `null` of position 0
  Between, // after a row: `,` or `]`
  BeforeRow,
  InRow,
  Suffix,
}

export class VllmBodyStream {
  private phase = Phase.Prefix;
  private prefix: Buffer = Buffer.alloc(0);
  private suffix: Buffer[] = [];
  private suffixLength = 0;
  private rowParts: Buffer[] = [];
  private depth = 0;
  private inString = false;
  private escape = false;
  private nullSeen = 0;
  private rows = 0;
  private readonly b: RowsBuilder;

  constructor(
    private readonly n: number,
    k: number | "full",
    private readonly vocabSize: number,
    actualToken: ActualTokenMode,
  ) {
    this.b = new RowsBuilder(n, vocabSize, k, actualToken);
    prepareScan(vocabSize);
  }

  push(chunk: Uint8Array): void {
    let c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.phase === Phase.Prefix) {
      const from = Math.max(0, this.prefix.length - KEY.length + 1);
      this.prefix = Buffer.concat([this.prefix, c]);
      const at = this.prefix.indexOf(KEY, from);
      if (at < 0) {
        if (this.prefix.length > MAX_EDGE) throw new ResponseShapeError(`no "prompt_logprobs":[ in the first ${MAX_EDGE} bytes of the response (is this a vLLM server?)`);
        return;
      }
      c = this.prefix.subarray(at + KEY.length);
      this.prefix = this.prefix.subarray(0, at + KEY.length);
      this.phase = Phase.First;
    }
    this.consume(c);
  }

  private consume(c: Buffer): void {
    let rowStart = this.phase === Phase.InRow ? 0 : -1;
    for (let i = 0; i < c.length; i++) {
      const x = c[i];
      switch (this.phase) {
        case Phase.InRow: {
          // The hot loop (megabytes per row): state in locals, one byte at a time.
          let { depth, inString, escape } = this;
          let j = i;
          const len = c.length;
          for (; j < len; j++) {
            const y = c[j];
            if (inString) {
              if (escape) escape = false;
              else if (y === 92) escape = true;
              else if (y === 34) inString = false;
            } else if (y === 34) inString = true;
            else if (y === 123) depth++;
            else if (y === 125 && --depth === 0) break;
          }
          this.depth = depth;
          this.inString = inString;
          this.escape = escape;
          if (j === len) {
            i = len; // the row goes on in the next chunk
            break;
          }
          this.rowParts.push(c.subarray(rowStart, j + 1));
          this.endRow();
          rowStart = -1;
          this.phase = Phase.Between;
          i = j;
          break;
        }
        case Phase.First:
          if (isSpace(x) && this.nullSeen === 0) break;
          if (x !== "null".charCodeAt(this.nullSeen)) throw new ResponseShapeError("prompt_logprobs[0] should be null (nothing predicts the first token)");
          if (++this.nullSeen === 4) this.phase = Phase.Between;
          break;
        case Phase.Between:
          if (isSpace(x)) break;
          if (x === 44) this.phase = Phase.BeforeRow;
          else if (x === 93) {
            this.phase = Phase.Suffix;
            this.keepSuffix(c.subarray(i + 1));
            return;
          } else throw new ResponseShapeError(`unexpected byte after prompt_logprobs[${this.rows}]`);
          break;
        case Phase.BeforeRow:
          if (isSpace(x)) break;
          if (x !== 123) throw new ResponseShapeError(`prompt_logprobs[${this.rows + 1}] is not an object`);
          if (++this.rows > this.n) throw new ResponseShapeError(`prompt_logprobs has more than ${this.n + 1} positions (the block's ${this.n} tokens and the extra one)`);
          this.phase = Phase.InRow;
          this.depth = 1;
          rowStart = i;
          break;
        case Phase.Suffix:
          this.keepSuffix(c.subarray(i));
          return;
        default:
          throw new Error("unreachable");
      }
    }
    if (this.phase === Phase.InRow && rowStart >= 0) this.rowParts.push(Buffer.from(c.subarray(rowStart))); // a copy: the chunk may be reused
  }

  private endRow(): void {
    const bytes = this.rowParts.length === 1 ? this.rowParts[0] : Buffer.concat(this.rowParts);
    this.rowParts = [];
    const sc = new Scanner(bytes);
    try {
      scanRow(sc, this.b, this.vocabSize, this.rows === this.n);
      if (sc.ws() !== undefined) throw new ResponseShapeError(`prompt_logprobs[${this.rows}] has bytes after its object`);
    } catch (e) {
      if (isBail(e)) throw new ResponseShapeError(`prompt_logprobs[${this.rows}] is not in vLLM's shape ({"<id>": {"logprob": <number>, ...}, ...}, each id once, canonical ids)`);
      throw e;
    }
  }

  private keepSuffix(c: Buffer): void {
    this.suffixLength += c.length;
    if (this.suffixLength > MAX_EDGE) throw new ResponseShapeError(`more than ${MAX_EDGE} bytes after prompt_logprobs`);
    this.suffix.push(Buffer.from(c));
  }

  /** The rows, once the whole body is in; a ResponseShapeError (retried) otherwise. */
  end(): TopKRows {
    if (this.phase === Phase.Prefix) throw new ResponseShapeError("choices[0].prompt_logprobs is missing (is this a vLLM server?)");
    if (this.phase !== Phase.Suffix) throw new ResponseShapeError("the response ended inside prompt_logprobs");
    if (this.rows !== this.n) throw new ResponseShapeError(`prompt_logprobs has ${this.rows + 1} positions, expected ${this.n + 1} (the block's ${this.n} tokens and the extra one)`);
    // A sentinel where the rows were: JSON.parse must put it at choices[0].prompt_logprobs (so no
    // later duplicate key replaces the array read, and no other key was read instead).
    const skeleton = Buffer.concat([this.prefix, Buffer.from(`"${SENTINEL}"]`), ...this.suffix]);
    const parsed = parseJsonBody(skeleton, "/v1/completions (the body around prompt_logprobs)") as { choices?: { prompt_logprobs?: unknown }[] } | null;
    const p = parsed?.choices?.[0]?.prompt_logprobs;
    if (!(Array.isArray(p) && p.length === 1 && p[0] === SENTINEL)) throw new ResponseShapeError("the prompt_logprobs read is not choices[0].prompt_logprobs (a duplicate key, or another place in the body)");
    return this.b.finish();
  }
}

const isSpace = (x: number) => x === 32 || x === 10 || x === 13 || x === 9;
