/**
 * Translating a block and aligning its positions (whp-method.md, "Translating a block and aligning
 * positions"). Pure: the tokenizer is reached through an `encode` lookup that the caller fills in
 * beforehand, so the rules can be tested with in-memory inputs and any toy tokenizer.
 *
 * Two steps: `planBlock` finds the occurrences, draws one translation per term (seeded, per block and
 * term) and lists the context encodings it needs; `buildTranslation` assembles the translated token
 * sequence, the position map and the forbidden-token schedule from those encodings.
 */
import { deriveSeed, seededRandom } from "./hash.js";
import {
  type BlockView,
  type DictionaryEntry,
  type TermMatcher,
  type TokenOccurrence,
  type Unaligned,
  blockCharRange,
  contextPrefix,
  findOccurrences,
} from "./anchors.js";
import { restyleLike } from "./typography.js";

/** A piece of text to tokenize right after `prefix` (the prefix decides the leading-space form). */
export interface EncodeRequest {
  readonly prefix: string;
  readonly span: string;
}

/** The tokens of `span` as they come after `prefix`, or null when the span would merge with the
 * prefix's own tokens (no clean boundary). */
export type ContextEncoder = (prefix: string, span: string) => readonly number[] | null;

export interface PlannedOccurrence extends TokenOccurrence {
  readonly translation: string;
  /** The translation as written into the text: with the corpus's apostrophes and quotes ("Sophie's"
   * becomes "Sophie’s" where the corpus writes "Harry’s"). */
  readonly written: string;
  /** Context and replacement text: the anchor tokens' text (leading whitespace + term) becomes
   * leading whitespace + written translation. */
  readonly prefix: string;
  readonly newSpan: string;
}

export interface BlockPlan {
  readonly occurrences: readonly PlannedOccurrence[];
  readonly unaligned: readonly Unaligned[];
  /** Translation chosen for each term present in the block. */
  readonly chosen: ReadonlyMap<string, string>;
}

/** Contexts in which a translation's first token is looked up, to forbid every form it can take. */
export const FIRST_TOKEN_CONTEXTS: readonly { prefix: string; lead: string }[] = [
  { prefix: "", lead: "" }, // start of text
  { prefix: "x", lead: " " }, // after a space
  { prefix: "x\n", lead: "" }, // at the start of a line
  { prefix: 'x "', lead: "" }, // after an opening quote
];

/** Seeded draw of one candidate: depends only on (seed, block, term), so adding a term to the
 * dictionary or reordering blocks never changes another term's draw. */
export function drawTranslation(seed: number, blockId: string, entry: DictionaryEntry): string {
  const rand = seededRandom(deriveSeed(seed, blockId, entry.term));
  return entry.translations[Math.floor(rand() * entry.translations.length)];
}

export function planBlock(
  block: BlockView,
  matcher: TermMatcher,
  dictionary: ReadonlyMap<string, DictionaryEntry>,
  seed: number,
  blockId: string,
): BlockPlan {
  const { placed, unaligned } = findOccurrences(block, matcher);
  const chosen = new Map<string, string>();
  const occurrences: PlannedOccurrence[] = [];
  let surrounding: string | undefined;
  const blockText = () => {
    if (surrounding === undefined) {
      const range = blockCharRange(block);
      surrounding = range ? block.text.slice(range.start, range.end) : "";
    }
    return surrounding;
  };
  for (const occ of placed) {
    const entry = dictionary.get(occ.term);
    if (!entry) throw new Error(`matcher returned "${occ.term}", which is not in the dictionary`);
    let translation = chosen.get(occ.term);
    if (translation === undefined) {
      translation = drawTranslation(seed, blockId, entry);
      chosen.set(occ.term, translation);
    }
    const lead = block.text.slice(occ.spanStart, occ.start);
    const written = restyleLike(translation, block.text.slice(occ.start, occ.end), blockText);
    occurrences.push({
      ...occ,
      translation,
      written,
      prefix: contextPrefix(block.text, occ.spanStart),
      newSpan: lead + written,
    });
  }
  return { occurrences, unaligned, chosen };
}

/** Every encoding `buildTranslation` will ask for, without duplicates, in a stable order. */
export function encodeRequests(plan: BlockPlan): EncodeRequest[] {
  const seen = new Set<string>();
  const out: EncodeRequest[] = [];
  const add = (prefix: string, span: string) => {
    const key = `${prefix}\u0000${span}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ prefix, span });
    }
  };
  for (const occ of plan.occurrences) add(occ.prefix, occ.newSpan);
  for (const written of new Set(plan.occurrences.map((o) => o.written))) {
    for (const ctx of FIRST_TOKEN_CONTEXTS) add(ctx.prefix, ctx.lead + written);
  }
  return out;
}

export interface ForbiddenEvent {
  /** Translated position where the translation is first used (its first token); the tokens are
   * forbidden at every translated position strictly after it (whp-method.md, "Forbidden tokens"). */
  readonly from: number;
  readonly tokens: readonly number[];
}

export interface AlignedOccurrence {
  readonly term: string;
  readonly translation: string;
  readonly start: number;
  readonly end: number;
  readonly first: number;
  readonly last: number;
  readonly translatedFirst: number;
  readonly translatedLast: number;
}

export interface TranslatedBlock {
  readonly translatedIds: number[];
  /** map[i] = translated position comparable with original position i, or -1 (masked). */
  readonly map: Int32Array;
  readonly forbidden: ForbiddenEvent[];
  readonly occurrences: AlignedOccurrence[];
  readonly unaligned: Unaligned[];
}

/** First tokens of a translation in every context form: forbidden after it is first used. */
export function firstTokenVariants(translation: string, encode: ContextEncoder): number[] {
  const ids = new Set<number>();
  for (const ctx of FIRST_TOKEN_CONTEXTS) {
    const tokens = encode(ctx.prefix, ctx.lead + translation);
    // After a space the first token may be the bare space (e.g. a separate "\u2581"); the word's own
    // first token then follows, and both forms are what the model would emit next.
    if (tokens && tokens.length > 0) ids.add(tokens[0]);
  }
  return [...ids].sort((a, b) => a - b);
}

export function buildTranslation(block: BlockView, plan: BlockPlan, encode: ContextEncoder): TranslatedBlock {
  const n = block.ids.length;
  const map = new Int32Array(n);
  const translatedIds: number[] = [];
  const forbidden: ForbiddenEvent[] = [];
  const occurrences: AlignedOccurrence[] = [];
  const unaligned: Unaligned[] = [...plan.unaligned];
  const termSeen = new Set<string>();
  const translationUsed = new Set<string>();

  let occIndex = 0;
  for (let i = 0; i < n; ) {
    const occ = occIndex < plan.occurrences.length && plan.occurrences[occIndex].first === i ? plan.occurrences[occIndex++] : undefined;
    const tokens = occ ? encode(occ.prefix, occ.newSpan) : undefined;
    if (!occ || !tokens || tokens.length === 0) {
      if (occ) unaligned.push({ term: occ.term, start: occ.start, end: occ.end, reason: "translation-merges-with-context" });
      const stop = occ ? occ.last + 1 : i + 1;
      for (; i < stop; i++) {
        map[i] = translatedIds.length;
        translatedIds.push(block.ids[i]);
      }
      continue;
    }
    const translatedFirst = translatedIds.length;
    // The position before an anchor predicts the anchor itself: trained on the term's first
    // occurrence ("not Harry"), masked on later ones (else: "Harry ... my name is Jon").
    if (termSeen.has(occ.term) && occ.first > 0) map[occ.first - 1] = -1;
    termSeen.add(occ.term);
    for (let k = occ.first; k < occ.last; k++) map[k] = -1; // anchor-internal: would continue the translation
    translatedIds.push(...tokens);
    map[occ.last] = translatedIds.length - 1;
    // Keyed by the written form: "Sophie's" and "Sophie’s" may start with different tokens.
    if (!translationUsed.has(occ.written)) {
      translationUsed.add(occ.written);
      forbidden.push({ from: translatedFirst, tokens: firstTokenVariants(occ.written, encode) });
    }
    occurrences.push({
      term: occ.term,
      translation: occ.translation,
      start: occ.start,
      end: occ.end,
      first: occ.first,
      last: occ.last,
      translatedFirst,
      translatedLast: translatedIds.length - 1,
    });
    i = occ.last + 1;
  }
  unaligned.sort((a, b) => a.start - b.start);
  return { translatedIds, map, forbidden, occurrences, unaligned };
}

/** Convenience for callers whose encoder is synchronous (tests, toy tokenizers). */
export function translateBlock(
  block: BlockView,
  matcher: TermMatcher,
  dictionary: ReadonlyMap<string, DictionaryEntry>,
  seed: number,
  blockId: string,
  encode: ContextEncoder,
): TranslatedBlock {
  return buildTranslation(block, planBlock(block, matcher, dictionary, seed, blockId), encode);
}
