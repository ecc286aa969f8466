/** Text around a queued position, for the reviewer: the original block and the translated block, the
 * token in question in [[double brackets]]. */
import type { ModelTokenizer } from "../io/tokenizer.js";

/**
 * Decodes ids[from, at) + [[ids[at]]] + ids[at + 1, to). Pieces are cut out of one decode of the whole
 * window (decoding a token alone drops its leading space with SentencePiece tokenizers); when the
 * decoder is not prefix-stable there, each piece is decoded on its own instead.
 */
export async function markedWindow(tok: ModelTokenizer, ids: readonly number[], at: number, before: number, after: number): Promise<string> {
  const from = Math.max(0, at - before);
  const to = Math.min(ids.length, at + 1 + after);
  if (at < 0 || at >= ids.length) return "";
  const [head, upto, all] = await Promise.all([tok.decode(ids.slice(from, at)), tok.decode(ids.slice(from, at + 1)), tok.decode(ids.slice(from, to))]);
  if (upto.startsWith(head) && all.startsWith(upto)) return `${head}[[${upto.slice(head.length)}]]${all.slice(upto.length)}`;
  const [mid, tail] = await Promise.all([tok.decode([ids[at]]), tok.decode(ids.slice(at + 1, to))]);
  return `${head}[[${mid}]]${tail}`;
}
