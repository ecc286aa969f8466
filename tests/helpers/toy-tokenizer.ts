/**
 * A tiny SentencePiece-like tokenizer for alignment tests: a word carries its leading space ("▁word"
 * style: the space is inside the token's span), long words split into 4-character pieces (so names are
 * multi-token), an opening parenthesis glues onto the word after it (so some terms do not start on a
 * token boundary), other punctuation and newlines are tokens of their own. Id 0 is BOS.
 */
import type { BlockView } from "../../pipeline/core/anchors.js";
import type { ContextEncoder } from "../../pipeline/core/align.js";

export class ToyTokenizer {
  private readonly ids = new Map<string, number>([["<s>", 0]]);
  private readonly pieces: string[] = ["<s>"];

  id(piece: string): number {
    let id = this.ids.get(piece);
    if (id === undefined) {
      id = this.pieces.length;
      this.ids.set(piece, id);
      this.pieces.push(piece);
    }
    return id;
  }

  piece(id: number): string {
    return this.pieces[id];
  }

  encode(text: string): { ids: number[]; starts: number[]; ends: number[] } {
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    const re = / ?\(?[A-Za-z0-9']+| ?[^\sA-Za-z0-9]|\n| +/g;
    for (const m of text.matchAll(re)) {
      const word = m[0];
      const at = m.index ?? 0;
      for (let k = 0; k < word.length; k += 4) {
        const piece = word.slice(k, k + 4);
        ids.push(this.id(piece));
        starts.push(at + k);
        ends.push(at + k + piece.length);
      }
    }
    return { ids, starts, ends };
  }

  decode(ids: readonly number[]): string {
    return ids.filter((i) => i !== 0).map((i) => this.pieces[i]).join("");
  }

  /** A block of the whole text, BOS first. */
  block(text: string): BlockView {
    const enc = this.encode(text);
    return { ids: [0, ...enc.ids], starts: [0, ...enc.starts], ends: [0, ...enc.ends], text };
  }

  encoder(): ContextEncoder {
    return (prefix, span) => {
      const both = this.encode(prefix + span).ids;
      const head = this.encode(prefix).ids;
      for (let i = 0; i < head.length; i++) if (both[i] !== head[i]) return null;
      return both.slice(head.length);
    };
  }
}
