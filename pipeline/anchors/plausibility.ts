/**
 * Translation plausibility (issue #8, part 2): candidates likely to read badly in context. Pure: the
 * caller passes the dictionary, the passages (which terms and which lower-case words each holds), a
 * first-name lexicon and word frequencies. Like the other checks it flags and suggests, never edits.
 * - gender-mismatch: a person's candidate whose first name (or title) is of the other gender than the
 *   term (the term's own name if the lexicon knows it, else the clear majority of its candidates);
 *   a name in both gender lists is ambiguous and never flagged;
 * - category-mismatch: a person's candidate shaped like a place ("Oak Hall"), or a place's candidate
 *   that is a bare first name ("Victor") or carries a person's title ("Mr Grant");
 * - word-collision: a name-like candidate that is also an ordinary English word occurring in lower
 *   case in the passages where the term occurs ("Rose" for "Hermione" where "rose" the verb occurs);
 *   a title inside a longer name ("Nurse Ellen", "Dark Master") does not collide on its own;
 * - shared-translation: one candidate used for two different terms that occur in one passage, so a
 *   block drawing it for both merges two characters into one;
 * - surface-mismatch: a person's first candidate loses the term's register, initial or length class
 *   while another candidate keeps more of them (the "Harry ... my name is John" case: prefer "Harold").
 * Suggestions always come from the term's own candidate list, best first.
 */
import { englishCount } from "./corpus-stats.js";
import { TermMatcher } from "../core/anchors.js";

export const PLAUSIBILITY_KINDS = ["gender-mismatch", "category-mismatch", "word-collision", "shared-translation", "surface-mismatch"] as const;
export type PlausibilityKind = (typeof PLAUSIBILITY_KINDS)[number];

export interface NameLexicon {
  female: ReadonlySet<string>;
  male: ReadonlySet<string>;
}

export interface PlausibilityEntry {
  term: string;
  translations: readonly string[];
  category: string;
  line?: number;
}

/** One passage (a block of the run, or a window of a document): the terms it holds and the words
 * that occur in it in lower case (ordinary words, not names). */
export interface Passage {
  terms: ReadonlySet<string>;
  words: ReadonlySet<string>;
}

export interface PlausibilityFlag {
  term: string;
  line?: number;
  translation: string;
  kind: PlausibilityKind;
  message: string;
  /** Better candidates from the term's own list, best first (may be empty). */
  suggestions: string[];
}

export interface PlausibilityOptions {
  /** SUBTLEX count from which a candidate's word counts as ordinary English. */
  commonWordCount: number;
}

export const DEFAULT_PLAUSIBILITY: PlausibilityOptions = { commonWordCount: 100 };

type Gender = "female" | "male";

const TITLE_GENDER: Record<string, Gender | undefined> = {
  mr: "male", mister: "male", sir: "male", lord: "male", king: "male", prince: "male", duke: "male", father: "male", brother: "male", uncle: "male", master: "male", headmaster: "male",
  mrs: "female", miss: "female", ms: "female", lady: "female", queen: "female", princess: "female", duchess: "female", mother: "female", sister: "female", aunt: "female", madam: "female", dame: "female", headmistress: "female",
  professor: undefined, doctor: undefined, dr: undefined, captain: undefined, magister: undefined,
};
const MODIFIERS = new Set(["the", "a", "an", "old", "young", "little", "big"]);
/** Titles, honorifics and epithets that lead a name ("Madam Hooch", "Nurse Ellen", "Dark Lord"): in a
 * multi-word candidate they are part of the name, not the ordinary word, so they never collide alone. */
export const TITLE_WORDS: ReadonlySet<string> = new Set([
  ...Object.keys(TITLE_GENDER),
  ..."madame nurse dark saint st reverend rev colonel general sergeant inspector constable officer judge minister chief count countess baron baroness auntie granny grandma grandpa nanny dean bishop emperor empress high grand great".split(" "),
]);
const PLACE_NOUNS = new Set(
  "city town village river street road lane hall castle forest wood woods lake sea island islands isles harbour harbor market school academy house manor tower bridge valley mountain hill bay port library park square church inn county shire farm field marsh moor cove abbey station quay weir".split(" "),
);
/** Endings that make a single word read as a town ("Ashby", "Riverton"), exempting it from the
 * place-named-like-a-person check even when some list has it as a first name. */
const PLACE_SUFFIX = /(ton|ford|ville|bury|by|shire|field|wick|mouth|port|borough|burgh|minster|chester|caster|ham|stead|worth|dale|mere)$/i;
const STOPWORDS = new Set(["the", "of", "and", "a", "an", "in", "on", "at", "to"]);

const isPerson = (category: string) => ["person", "character", "people"].includes(category.trim().toLowerCase());
const isPlace = (category: string) => ["place", "location"].includes(category.trim().toLowerCase());
const isCapitalised = (w: string) => /^\p{Lu}/u.test(w);
const letters = (w: string) => w.replace(/[^\p{L}]/gu, "");

type NameParts = { modifiers: string[]; titles: string[]; name: string[] };
/** nameParts by string: every check and the ranking read it several times per candidate, and a
 * book's dictionary repeats the same generic candidates across hundreds of rows. Read-only. */
const partsMemo = new Map<string, Readonly<NameParts>>();
function partsOf(s: string): Readonly<NameParts> {
  let parts = partsMemo.get(s);
  if (!parts) {
    if (partsMemo.size >= 100_000) partsMemo.clear();
    partsMemo.set(s, (parts = splitName(s)));
  }
  return parts;
}

/** A name split into modifiers ("the", "old"), titles ("Mrs", "Professor") and the name proper. */
export function nameParts(s: string): NameParts {
  const { modifiers, titles, name } = partsOf(s);
  return { modifiers: [...modifiers], titles: [...titles], name: [...name] };
}

function splitName(s: string): NameParts {
  const words = s.trim().split(/\s+/).filter(Boolean);
  let i = 0;
  const modifiers: string[] = [];
  const titles: string[] = [];
  for (; i < words.length - 1; i++) {
    const w = letters(words[i]).toLowerCase();
    if (MODIFIERS.has(w) && titles.length === 0) modifiers.push(words[i]);
    else if (w in TITLE_GENDER) titles.push(words[i]);
    else break;
  }
  return { modifiers, titles, name: words.slice(i) };
}

export type GenderReading = Gender | "ambiguous" | undefined;

/** The gender a name reads as: its title's, else its first name's in the lexicon (both lists:
 * "ambiguous"; neither: undefined). */
export function genderOf(s: string, lex: NameLexicon): GenderReading {
  const { titles, name } = partsOf(s);
  for (const t of titles) {
    const g = TITLE_GENDER[letters(t).toLowerCase()];
    if (g) return g;
  }
  const first = letters(name[0] ?? "");
  if (!first || !isCapitalised(first)) return undefined;
  const f = lex.female.has(first);
  const m = lex.male.has(first);
  return f && m ? "ambiguous" : f ? "female" : m ? "male" : undefined;
}

/** The term's gender: its own name's if definite, else a clear majority of its candidates (at least
 * two votes and twice the other gender's). `from` says which, for the message. */
export function termGender(entry: PlausibilityEntry, lex: NameLexicon): { gender: Gender; from: string } | undefined {
  const own = genderOf(entry.term, lex);
  if (own === "female" || own === "male") return { gender: own, from: "its own name" };
  const votes = { female: 0, male: 0 };
  for (const c of entry.translations) {
    const g = genderOf(c, lex);
    if (g === "female" || g === "male") votes[g]++;
  }
  for (const [g, other] of [["female", "male"], ["male", "female"]] as const) {
    if (votes[g] >= 2 && votes[g] >= 2 * votes[other]) return { gender: g, from: `${votes[g]} of its candidates` };
  }
  return undefined;
}

/** Register/shape: article or not, titled or not, how many name words, capitalised or not. */
export function registerOf(s: string): string {
  const { modifiers, titles, name } = partsOf(s);
  const article = modifiers.some((m) => ["the", "a", "an"].includes(m.toLowerCase()));
  return `${article ? "article " : ""}${titles.length ? "titled " : ""}${name.length} word(s), ${name.every(isCapitalised) ? "capitalised" : "lower-case"}`;
}

/** Length class of the name proper, in letters: short (<= 4), medium (5-7), long (>= 8). */
export function lengthClass(s: string): "short" | "medium" | "long" {
  const n = letters(partsOf(s).name.join(""));
  return n.length <= 4 ? "short" : n.length <= 7 ? "medium" : "long";
}

/** The name's initial, lower-cased; "" for a lower-case description, whose first letter is no name's. */
export function initialOf(s: string): string {
  const first = letters(partsOf(s).name[0] ?? "");
  return isCapitalised(first) ? first[0].toLowerCase() : "";
}

/** What a candidate keeps of the term's surface, weighted register 4, initial 2, length class 1. */
export function surfaceMatch(term: string, candidate: string): { register: boolean; initial: boolean; length: boolean; score: number } {
  const register = registerOf(term) === registerOf(candidate);
  const initial = initialOf(term) !== "" && initialOf(term) === initialOf(candidate);
  const length = lengthClass(term) === lengthClass(candidate);
  return { register, initial, length, score: (register ? 4 : 0) + (initial ? 2 : 0) + (length ? 1 : 0) };
}

/**
 * The term's candidates other than `exclude`, best first: same gender as the term (person names; a
 * candidate of the other gender is left out), then the surface score. Ties keep the list's order.
 */
export function rankCandidates(entry: PlausibilityEntry, lex: NameLexicon, exclude: ReadonlySet<string> = new Set()): string[] {
  const gender = isPerson(entry.category) ? termGender(entry, lex)?.gender : undefined;
  const scored = entry.translations
    .map((c, i) => {
      const g = genderOf(c, lex);
      const genderScore = gender === undefined ? 0 : g === gender ? 8 : g === "female" || g === "male" ? -1 : 0;
      return { c, i, genderScore, score: genderScore + surfaceMatch(entry.term, c).score };
    })
    .filter((x) => !exclude.has(x.c) && x.genderScore >= 0);
  return scored.sort((a, b) => b.score - a.score || a.i - b.i).map((x) => x.c);
}

function placeProblem(candidate: string, lex: NameLexicon, freq: ReadonlyMap<string, number>, opts: PlausibilityOptions): string | undefined {
  const { modifiers, titles, name } = partsOf(candidate);
  if (titles.some((t) => TITLE_GENDER[letters(t).toLowerCase()])) return `carries a person's title ("${titles[0]}")`;
  if (modifiers.length || name.length !== 1) return undefined;
  const w = letters(name[0]);
  // A town-shaped word, a place noun ("Bay") or a word SUBTLEX lists in lower case ("Hope" is "hope")
  // reads as a place name or a word before it reads as a person.
  const lw = w.toLowerCase();
  if (!isCapitalised(w) || PLACE_SUFFIX.test(w) || PLACE_NOUNS.has(lw) || (freq.get(lw) ?? 0) >= opts.commonWordCount) return undefined;
  if (lex.female.has(w) || lex.male.has(w)) return `is a first name ("${w}" is in the first-name lists)`;
  return undefined;
}

function personProblem(candidate: string, lex: NameLexicon): string | undefined {
  const { titles, name } = partsOf(candidate);
  if (titles.length || name.length < 2 || !name.every(isCapitalised)) return undefined;
  const last = letters(name.at(-1) ?? "").toLowerCase();
  const first = letters(name[0]);
  if (PLACE_NOUNS.has(last) && !lex.female.has(first) && !lex.male.has(first)) return `reads as a place ("${name.at(-1)}")`;
  return undefined;
}

/** Two terms for one thing ("Saltmere" inside "Saltmere Academy") may share a description. */
const nested = (a: string, b: string) => ` ${a} `.includes(` ${b} `) || ` ${b} `.includes(` ${a} `);

/** For a caller that keeps the flags of a dictionary under edit (review/plausibility-cache.ts). */
export interface PlausibilityScope {
  /** Only these entries' flags are computed; the others are still every entry's partners in the
   * shared-translation check, so the flags of the chosen ones are those of the whole run. */
  only?: (entry: PlausibilityEntry) => boolean;
  /** The passages holding a term, kept by the caller (review/passages.ts), instead of grouping all
   * `passages` by term on every call; any order (only counts are read). */
  passagesWith?: (term: string) => readonly Passage[];
  /** The passages where a word occurs in lower case, likewise (they do not change with the terms). */
  passagesWithWord?: (word: string) => readonly Passage[];
  /** The entries by candidate (trimmed, lower case), in entry order, when the caller has built it. */
  byCandidate?: ReadonlyMap<string, readonly PlausibilityEntry[]>;
}

export function checkPlausibility(
  entries: readonly PlausibilityEntry[],
  passages: readonly Passage[],
  lex: NameLexicon,
  freq: ReadonlyMap<string, number>,
  opts: PlausibilityOptions = DEFAULT_PLAUSIBILITY,
  scope: PlausibilityScope = {},
): PlausibilityFlag[] {
  const flags: PlausibilityFlag[] = [];
  const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);
  let passagesWith = scope.passagesWith;
  if (!passagesWith) {
    const grouped = new Map<string, Passage[]>();
    for (const p of passages) for (const t of p.terms) push(grouped, t, p);
    passagesWith = (t) => grouped.get(t) ?? [];
  }
  let byCandidate = scope.byCandidate;
  if (!byCandidate) {
    const grouped = new Map<string, PlausibilityEntry[]>();
    for (const e of entries) for (const c of new Set(e.translations.map((t) => t.trim().toLowerCase()))) push(grouped, c, e);
    byCandidate = grouped;
  }

  for (const e of entries) {
    if (scope.only && !scope.only(e)) continue;
    const flagged = new Map<PlausibilityKind, Set<string>>();
    const pending: Omit<PlausibilityFlag, "suggestions">[] = [];
    const flag = (kind: PlausibilityKind, translation: string, message: string) => {
      flagged.set(kind, (flagged.get(kind) ?? new Set()).add(translation));
      pending.push({ term: e.term, line: e.line, translation, kind, message });
    };
    const own = passagesWith(e.term);
    const gender = isPerson(e.category) ? termGender(e, lex) : undefined;
    // Ranked once per row: each flag's suggestions are this list less the candidates it excludes
    // (the ranking's order does not depend on what is excluded).
    let rankedAll: string[] | undefined;
    const ranked = (exclude: ReadonlySet<string>) => (rankedAll ??= rankCandidates(e, lex)).filter((c) => !exclude.has(c));
    const surfaceScore = new Map<string, number>();
    const scoreOf = (c: string) => surfaceScore.get(c) ?? surfaceScore.set(c, surfaceMatch(e.term, c).score).get(c)!;
    // Passages holding the term and a given word, or another term: counted once per row, over the
    // shorter of the two lists (a main character's generic
    // candidates are also the candidates of hundreds of rarer terms).
    const wordHits = new Map<string, number>();
    const nestedMemo = new Map<string, boolean>();
    const nestedIn = (term: string) => nestedMemo.get(term) ?? nestedMemo.set(term, nested(term, e.term)).get(term)!;
    const withWord = (lw: string): number => {
      const theirs = scope.passagesWithWord?.(lw);
      return theirs && theirs.length < own.length ? theirs.filter((p) => p.terms.has(e.term)).length : own.filter((p) => p.words.has(lw)).length;
    };
    const meets = new Map<string, number>();
    const togetherWith = (term: string): number => {
      let n = meets.get(term);
      if (n === undefined) {
        const theirs = passagesWith(term);
        n = theirs.length < own.length ? theirs.filter((p) => p.terms.has(e.term)).length : own.filter((p) => p.terms.has(term)).length;
        meets.set(term, n);
      }
      return n;
    };
    for (const c of new Set(e.translations)) {
      // (a) gender and category
      const g = genderOf(c, lex);
      if (gender && (g === "female" || g === "male") && g !== gender.gender) flag("gender-mismatch", c, `person "${e.term}" reads as ${gender.gender} (${gender.from}) but candidate "${c}" is ${g}`);
      const problem = isPerson(e.category) ? personProblem(c, lex) : isPlace(e.category) ? placeProblem(c, lex, freq, opts) : undefined;
      if (problem) flag("category-mismatch", c, `${e.category} "${e.term}" has candidate "${c}", which ${problem}`);

      // (b) a name that is also an ordinary word where the term occurs
      const { name } = partsOf(c);
      if (isCapitalised(c) && (name.length === 1 || isPerson(e.category))) {
        for (const w of name.map(letters)) {
          const lw = w.toLowerCase();
          // SUBTLEX keeps one spelling per word ("Rose", "price"): count either; the passage's own lower-case
          // use is what makes it a collision.
          if (!isCapitalised(w) || STOPWORDS.has(lw) || englishCount(freq, w) < opts.commonWordCount) continue;
          if (name.length > 1 && TITLE_WORDS.has(lw)) continue;
          const hits = wordHits.get(lw) ?? wordHits.set(lw, withWord(lw)).get(lw)!;
          if (hits) flag("word-collision", c, `candidate "${c}" is also the word "${lw}", which occurs in ${hits} of the ${own.length} passage(s) with "${e.term}"`);
        }
      }

      // (c) one candidate for two terms that meet in a passage
      for (const other of byCandidate.get(c.trim().toLowerCase()) ?? []) {
        if (other.term === e.term || nestedIn(other.term)) continue;
        const together = togetherWith(other.term);
        if (together) flag("shared-translation", c, `candidate "${c}" is also a candidate of "${other.term}"; the two terms occur together in ${together} passage(s)`);
      }
    }

    // (d) the first candidate against the others (person names only: descriptions such as "the city"
    // are deliberate generic substitutes for places and things, not surface slips)
    if (isPerson(e.category) && e.translations.length > 1) {
      const first = e.translations[0];
      const m = surfaceMatch(e.term, first);
      const better = ranked(new Set([first])).filter((c) => scoreOf(c) > m.score);
      if (better.length && !flagged.get("gender-mismatch")?.has(first)) {
        const lost = [m.register ? "" : `register (${registerOf(e.term)})`, m.initial ? "" : `initial "${initialOf(e.term).toUpperCase()}"`, m.length ? "" : `length class (${lengthClass(e.term)})`].filter(Boolean);
        flag("surface-mismatch", first, `first candidate "${first}" does not keep the ${lost.join(" or the ")} of "${e.term}"; "${better[0]}" keeps more`);
      }
    }

    // A suggestion must not have a problem of its own; a surface mismatch is only a preference.
    const bad = new Set([...flagged].filter(([kind]) => kind !== "surface-mismatch").flatMap(([, cs]) => [...cs]));
    // One ranking per flagged candidate (a main character's generic candidate can carry dozens of flags).
    const excluding = new Map<string, string[]>();
    for (const f of pending) {
      const list = (excluding.get(f.translation) ?? excluding.set(f.translation, ranked(new Set([...bad, f.translation]))).get(f.translation)!).slice();
      const suggestions = f.kind === "surface-mismatch" ? list.filter((c) => scoreOf(c) > scoreOf(f.translation)) : list;
      flags.push({ ...f, suggestions });
    }
  }
  return flags;
}

/** Index of the first match starting at or after `pos` (binary search). */
export function firstAtOrAfter(matches: readonly { start: number }[], pos: number): number {
  let lo = 0;
  let hi = matches.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (matches[mid].start < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Passages from documents: the run's blocks where known, else windows of `window` characters. Terms
 * are matched leftmost-longest like the translate stage ("Saltmere Academy" hides "Saltmere"). */
export function buildPassages(docs: readonly { id: string; text: string }[], terms: readonly string[], blocks?: readonly { doc: string; span: [number, number] }[], window = 2000): Passage[] {
  const matcher = new TermMatcher(terms);
  const out: Passage[] = [];
  for (const d of docs) {
    const spans: [number, number][] = blocks
      ? blocks.filter((b) => b.doc === d.id).map((b) => b.span)
      : Array.from({ length: Math.ceil(d.text.length / window) }, (_, i) => [i * window, Math.min(d.text.length, (i + 1) * window)]);
    const matches = matcher.matches(d.text, 0, d.text.length); // sorted by start
    for (const [start, end] of spans) {
      const text = d.text.slice(start, end);
      const words = new Set<string>();
      for (const m of text.matchAll(/\p{L}+/gu)) if (/^\p{Ll}/u.test(m[0])) words.add(m[0]);
      const terms = new Set<string>();
      for (let i = firstAtOrAfter(matches, start); i < matches.length && matches[i].start < end; i++) terms.add(matches[i].term);
      out.push({ terms, words });
    }
  }
  return out;
}
