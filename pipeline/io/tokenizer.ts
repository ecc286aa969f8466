/**
 * The model's own tokenizer.json, loaded with Hugging Face's `tokenizers` (the Rust library behind the
 * Python package), so ids and offsets match what the model's Python stack produces.
 */
import { readFile } from "node:fs/promises";
import { Tokenizer } from "tokenizers";
import { UserError } from "../core/errors.js";
import { sha256 } from "../core/hash.js";
import type { ContextEncoder, EncodeRequest } from "../core/align.js";

export interface TokenizerInfo {
  path: string;
  sha256: string;
  vocabSize: number;
  /** Special tokens the tokenizer puts before a sequence (e.g. [BOS]); every block starts with them. */
  prefixSpecialIds: number[];
  /** Special tokens it puts after a sequence (e.g. EOS for some models); not added to blocks. */
  suffixSpecialIds: number[];
}

export interface EncodedText {
  ids: number[];
  /** Character spans in UTF-16 code units (JavaScript string indices), like the text. */
  starts: number[];
  ends: number[];
}

export class ModelTokenizer {
  private constructor(
    private readonly tok: Tokenizer,
    readonly info: TokenizerInfo,
  ) {}

  static async load(path: string): Promise<ModelTokenizer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      throw new UserError(`tokenizer file not found: ${path}`, "set `tokenizer:` in the config to the model's tokenizer.json");
    }
    const text = bytes.toString("utf8");
    try {
      JSON.parse(text);
    } catch (e) {
      throw new UserError(`${path} is not valid JSON (${(e as Error).message})`, "point `tokenizer:` at the model's tokenizer.json (the Hugging Face format, not tokenizer.model or vocab.json)");
    }
    let tok: Tokenizer;
    try {
      tok = Tokenizer.fromString(text);
    } catch (e) {
      throw new UserError(`${path} is JSON but not a tokenizer the tokenizers library can load (${String((e as Error).message ?? e).split("\n")[0]})`, "use the tokenizer.json shipped with the model (a Hugging Face `tokenizers` file)");
    }
    // Left and right padding / truncation settings in a tokenizer.json would silently change ids.
    tok.disableTruncation();
    tok.disablePadding();
    const probe = "a";
    const withSpecial = (await tok.encode(probe, null, { addSpecialTokens: true })).getIds();
    const without = (await tok.encode(probe, null, { addSpecialTokens: false })).getIds();
    const at = indexOfSubsequence(withSpecial, without);
    const info: TokenizerInfo = {
      path,
      sha256: sha256(bytes),
      vocabSize: tok.getVocabSize(true),
      prefixSpecialIds: at < 0 ? [] : withSpecial.slice(0, at),
      suffixSpecialIds: at < 0 ? [] : withSpecial.slice(at + without.length),
    };
    return new ModelTokenizer(tok, info);
  }

  /** Tokenizes a whole document once, without special tokens, with character offsets. */
  async encodeText(text: string): Promise<EncodedText> {
    const enc = await this.tok.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    const offsets = enc.getOffsets();
    const toUtf16 = codePointToUtf16(text);
    return { ids, starts: offsets.map((o) => toUtf16(o[0])), ends: offsets.map((o) => toUtf16(o[1])) };
  }

  async encodeIds(text: string): Promise<number[]> {
    return (await this.tok.encode(text, null, { addSpecialTokens: false })).getIds();
  }

  async decode(ids: readonly number[], skipSpecial = true): Promise<string> {
    return this.tok.decode([...ids], skipSpecial);
  }

  tokenText(id: number): string {
    return this.tok.idToToken(id) ?? `<${id}>`;
  }

  /** Tokens of `span` as they come right after `prefix`; null when the span would not start on a token
   * boundary of the prefix's own tokenization. */
  async encodeAfter(prefix: string, span: string): Promise<number[] | null> {
    const [both, head] = await Promise.all([this.encodeIds(prefix + span), prefix ? this.encodeIds(prefix) : Promise.resolve([])]);
    for (let i = 0; i < head.length; i++) if (both[i] !== head[i]) return null;
    return both.slice(head.length);
  }

  /** Resolves a batch of context encodings into a synchronous lookup for the pure alignment code. */
  async contextEncoder(requests: readonly EncodeRequest[]): Promise<ContextEncoder> {
    const table = new Map<string, number[] | null>();
    const results = await Promise.all(requests.map((r) => this.encodeAfter(r.prefix, r.span)));
    requests.forEach((r, i) => table.set(`${r.prefix}\u0000${r.span}`, results[i]));
    return (prefix, span) => {
      const key = `${prefix}\u0000${span}`;
      if (!table.has(key)) throw new Error(`context encoding not prepared for ${JSON.stringify(span)}`);
      return table.get(key) ?? null;
    };
  }
}

function indexOfSubsequence(hay: readonly number[], needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The tokenizers library reports offsets in Unicode code points; JavaScript indexes strings in UTF-16
 * code units. They differ only after an astral character (emoji, some CJK), so the table is built only
 * when the text has one. */
function codePointToUtf16(text: string): (cp: number) => number {
  if (!/[\uD800-\uDBFF]/.test(text)) return (cp) => cp;
  const table: number[] = [];
  let unit = 0;
  for (const ch of text) {
    table.push(unit);
    unit += ch.length;
  }
  table.push(unit);
  return (cp) => table[Math.min(cp, table.length - 1)];
}
