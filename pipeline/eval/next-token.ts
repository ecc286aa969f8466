/**
 * The tagging rule both probability-prompt sources share (LLM-written prompts and imported plain
 * prompts): a term's tag is the token that follows the prompt when the term is written after it, and a
 * tag that a generic translation would also start with is no evidence of the forget set.
 */

/** The token that follows `text` (tokenized as `textIds`) when `word` is written after it with `sep`
 * between, or null at a token-boundary mismatch (the prompt's own tokens change). */
export async function tokenAfter(encode: (text: string) => Promise<number[]>, text: string, textIds: readonly number[], word: string, sep = " "): Promise<number | null> {
  const both = await encode(text + sep + word);
  return both.length > textIds.length && textIds.every((t, i) => both[i] === t) ? both[textIds.length] : null;
}

/** `term`'s tag after the prompt, "boundary" when it has none, "shared" when one of its translations
 * starts with the same token. */
export async function forgetTag(next: (word: string) => Promise<number | null>, term: string, translations: readonly string[]): Promise<number | "boundary" | "shared"> {
  const tag = await next(term);
  if (tag === null) return "boundary";
  const generic = await Promise.all(translations.map(next));
  return generic.includes(tag) ? "shared" : tag;
}
