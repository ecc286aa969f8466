/**
 * Statistical checks that point the reviewer at doubtful rows. Pure; they flag, never decide.
 * - absent: the term never occurs in the forget corpus (misspelt, or invented by the model);
 * - common-word: a one-word term that is frequent in everyday English (SUBTLEX-US), so replacing it
 *   also rewrites ordinary text. Case-aware: matching is case-sensitive, so a capitalised term only
 *   rewrites the word where it is capitalised. It is a name, not flagged, when English writes it
 *   capitalised (SUBTLEX lists "Harry", "Kentucky" only so) or when the corpus has it capitalised
 *   mid-sentence ("said Will"); a capitalised term is flagged by its lower-case word's count;
 * - translation-in-corpus: a name-like (capitalised) candidate that itself occurs in the forget
 *   corpus, so the "generic" text is not generic there (lower-case descriptions such as "the city"
 *   are expected to occur and are not flagged);
 * - translation-is-term: a candidate that is the term itself or another term of the dictionary;
 * - kind-mismatch: a candidate of another kind than its term, decided simply and visibly: a person's
 *   candidate that is a place description ("the harbour": lower-case, ending in a place noun), a
 *   place's candidate that starts with a common first name ("Emma Carter"), or a candidate that the
 *   dictionary also uses for a term of another category. Single words such as "Hill" stay unflagged:
 *   they are surnames as often as places. A term without a category ("", or "other", what untyped
 *   answers get) has no kind to mismatch: a candidate it shares with a categorised term is fine.
 */
import { englishCount, type CorpusIndex } from "./corpus-stats.js";
import { FIRST_NAMES as SHIPPED_FIRST_NAMES } from "./heuristic.js";
import { PLAUSIBILITY_KINDS } from "./plausibility.js";

// The plausibility kinds (plausibility.ts) are reported alongside, by `whp anchors check`.
export const FLAG_KINDS = ["absent", "common-word", "translation-in-corpus", "translation-is-term", "kind-mismatch", ...PLAUSIBILITY_KINDS] as const;
export type FlagKind = (typeof FLAG_KINDS)[number];

export interface CheckedEntry {
  term: string;
  translations: string[];
  category: string;
  /** Line in the review file, when the entry comes from one. */
  line?: number;
}

export interface Flag {
  term: string;
  line?: number;
  kind: FlagKind;
  message: string;
  /** Better candidates from the term's own list, best first (plausibility flags). */
  suggestions?: string[];
}

export interface CheckOptions {
  /** SUBTLEX count (of 51M words) from which a one-word term counts as common English. */
  commonWordCount: number;
}

export const DEFAULT_CHECKS: CheckOptions = { commonWordCount: 100 };

/** Common first names: the shipped list and a few more, enough to notice "Emma Carter" for a place. */
const FIRST_NAMES = new Set([...SHIPPED_FIRST_NAMES, "James", "John", "Mary", "Sarah", "Lucy", "Tom", "Michael", "Elizabeth", "Robert", "Jane", "Margaret", "Richard", "William", "George", "Alice", "Helen"]);
const PLACE_NOUNS = new Set(
  "city town village river street road lane hall castle forest wood woods lake sea island isles harbour harbor market school academy house manor tower bridge valley mountain hill bay port library park square church inn county shire farm field marsh moor cove abbey".split(" "),
);
const isNameLike = (s: string) => /^\p{Lu}/u.test(s);
const UNCATEGORISED = new Set(["", "other", "unknown", "none"]);
const isCategorised = (category: string) => !UNCATEGORISED.has(category.trim().toLowerCase());

/** The SUBTLEX count that says how much ordinary text a one-word term would rewrite, or undefined when
 * the term reads as a name (see common-word above). */
function ordinaryCount(term: string, freq: ReadonlyMap<string, number>, corpus: CorpusIndex, threshold: number): { n: number } | undefined {
  if (!/^\p{Lu}/u.test(term)) return { n: englishCount(freq, term) };
  const lower = term.toLowerCase();
  if (lower === term) return { n: englishCount(freq, term) };
  const n = freq.get(lower) ?? 0;
  if (n === 0) return undefined; // English writes it capitalised: a name
  // The corpus scan only for words common enough to flag.
  return n >= threshold && corpus.midSentenceCapitalised(term) > 0 ? undefined : { n };
}

function kindProblem(category: string, candidate: string): string | undefined {
  const words = candidate.split(/\s+/);
  const last = (words.at(-1) ?? "").toLowerCase().replace(/[^a-z]/g, "");
  if (category === "person" && /^\p{Ll}/u.test(candidate) && PLACE_NOUNS.has(last)) return `describes a place ("${words.at(-1)}")`;
  if (category === "place" && FIRST_NAMES.has(words[0])) return `starts with the first name "${words[0]}"`;
  return undefined;
}

export function checkEntries(entries: readonly CheckedEntry[], corpus: CorpusIndex, freq: ReadonlyMap<string, number>, opts: CheckOptions = DEFAULT_CHECKS): Flag[] {
  const flags: Flag[] = [];
  const terms = new Set(entries.map((e) => e.term));
  // Candidate -> the categories of the terms that use it, for the cross-category check.
  const usedFor = new Map<string, Map<string, string>>();
  for (const e of entries) {
    for (const c of e.translations) {
      const m = usedFor.get(c) ?? new Map<string, string>();
      if (!m.has(e.category)) m.set(e.category, e.term);
      usedFor.set(c, m);
    }
  }
  const countCache = new Map<string, number>();
  const count = (s: string) => {
    let n = countCache.get(s);
    if (n === undefined) countCache.set(s, (n = corpus.count(s)));
    return n;
  };
  for (const e of entries) {
    const flag = (kind: FlagKind, message: string) => flags.push({ term: e.term, line: e.line, kind, message });
    if (count(e.term) === 0) flag("absent", `"${e.term}" never occurs in the forget corpus`);
    if (!/\s/.test(e.term)) {
      const ordinary = ordinaryCount(e.term, freq, corpus, opts.commonWordCount);
      if (ordinary && ordinary.n >= opts.commonWordCount) {
        const how = e.term.toLowerCase() !== e.term ? ` as "${e.term.toLowerCase()}", and the corpus never has "${e.term}" mid-sentence (as a name)` : "";
        flag("common-word", `"${e.term}" is common English (SUBTLEX count ${ordinary.n}${how}); replacing it also rewrites ordinary text`);
      }
    }
    for (const c of e.translations) {
      if (c === e.term) flag("translation-is-term", `candidate "${c}" is the term itself`);
      else if (terms.has(c)) flag("translation-is-term", `candidate "${c}" is also a term of the dictionary`);
      if (isNameLike(c) && c !== e.term) {
        const n = count(c);
        if (n > 0) flag("translation-in-corpus", `candidate "${c}" occurs ${n} time(s) in the forget corpus`);
      }
      const problem = kindProblem(e.category, c);
      if (problem) flag("kind-mismatch", `${e.category} "${e.term}" has candidate "${c}", which ${problem}`);
      for (const [category, other] of usedFor.get(c) ?? []) {
        if (category !== e.category && isCategorised(e.category) && isCategorised(category)) flag("kind-mismatch", `candidate "${c}" is also used for ${category} "${other}", but "${e.term}" is ${e.category}`);
      }
    }
  }
  return flags;
}
