/**
 * The offline extractor (provider `heuristic`): proposes anchors with no model. Pure.
 * A candidate is a capitalised word, or a run of capitalised words ("Tamsin Quillfeather"), that is
 * frequent in the forget corpus and rare in general English: rare in the run's general corpus and in
 * SUBTLEX-US, and rarely written in lower case in the forget corpus itself (which rules out words that
 * are only capitalised at the start of sentences). Terms are ranked by a smoothed log-odds of their
 * frequency in the forget corpus against general English.
 * Its translations come from short shipped lists (common first and family names, generic place
 * nouns), picked with a seed; the source column marks every row "heuristic" for the reviewer.
 */
import { deriveSeed, seededRandom } from "../core/hash.js";
import { englishCount } from "./corpus-stats.js";
import type { Proposal } from "./parse.js";
import type { SourceDocument } from "./sample.js";

export const FIRST_NAMES = ["Anna", "Ben", "Claire", "David", "Emma", "Frank", "Grace", "Henry", "Iris", "Jack", "Kate", "Leo", "Mary", "Nick", "Olivia", "Paul", "Rose", "Sam", "Tom", "Luke"];
export const FAMILY_NAMES = ["Baker", "Carter", "Clark", "Cooper", "Evans", "Foster", "Bennett", "Collins", "Harris", "Hughes", "Lewis", "Mills", "Morgan", "Parker", "Reed", "Turner", "Walker", "Ward", "Dixon", "Fisher"];
export const PLACE_NOUNS = ["the town", "the village", "the harbour", "the market", "the school", "the hall", "the river", "the island"];

const PLACE_PREPOSITIONS = new Set(["in", "at", "to", "from", "into", "towards", "toward", "near", "across", "through"]);
const PERSON_VERBS = new Set(["said", "asked", "replied", "whispered", "shouted", "told", "nodded", "smiled", "laughed", "answered", "muttered", "cried"]);
const TITLES = new Set(["Mr", "Mrs", "Ms", "Miss", "Dr", "Lord", "Lady", "Sir", "Master", "Professor", "Uncle", "Aunt"]);

interface TermCounts {
  count: number;
  afterPreposition: number;
  nearSpeech: number;
  /** Times the word ended a run that ends in a place noun ("Kestrel Bridge"). */
  inPlaceName: number;
  /** Times the word was the last, not the first, of a run of names ("Tamsin Quillfeather"). */
  lastOfRun: number;
}

const PLACE_WORDS = new Set("bridge isles isle island hall marsh tower academy street lane market harbour harbor river lake sea bay cove town village city castle house manor library wood forest hill stair gate square".split(" "));

const WORD = /\p{L}[\p{L}'\u2019-]*/gu;

/** Capitalised words and runs of them, with the context counts used to guess person vs place. */
export function capitalisedTerms(text: string): Map<string, TermCounts> {
  const out = new Map<string, TermCounts>();
  const words = [...text.matchAll(WORD)].map((m) => ({ w: m[0].replace(/['\u2019](s|ll|d|re|ve)$/, ""), start: m.index, end: m.index + m[0].length }));
  const bump = (term: string, i: number, j: number) => {
    const t = out.get(term) ?? { count: 0, afterPreposition: 0, nearSpeech: 0, inPlaceName: 0, lastOfRun: 0 };
    t.count++;
    const prev = words[i - 1]?.w.toLowerCase();
    const next = words[j + 1]?.w.toLowerCase();
    if (prev && PLACE_PREPOSITIONS.has(prev)) t.afterPreposition++;
    if ((prev && PERSON_VERBS.has(prev)) || (next && PERSON_VERBS.has(next))) t.nearSpeech++;
    out.set(term, t);
    return t;
  };
  for (let i = 0; i < words.length; i++) {
    if (!/^\p{Lu}/u.test(words[i].w)) continue;
    let j = i;
    // A run continues over single spaces only: "Tamsin Quillfeather", not "Tamsin. Quillfeather".
    while (j + 1 < words.length && /^\p{Lu}/u.test(words[j + 1].w) && text.slice(words[j].end, words[j + 1].start) === " ") j++;
    const placeRun = j > i && PLACE_WORDS.has(words[j].w.toLowerCase());
    for (let k = i; k <= j; k++) {
      const t = bump(words[k].w, k, k);
      if (placeRun) t.inPlaceName++;
      if (j > i && k === j) t.lastOfRun++;
    }
    if (j > i) {
      const t = bump(words.slice(i, j + 1).map((x) => x.w).join(" "), i, j);
      if (placeRun) t.inPlaceName++;
    }
    i = j;
  }
  return out;
}

function lowerCounts(texts: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of texts) for (const x of t.matchAll(WORD)) m.set(x[0], (m.get(x[0]) ?? 0) + 1);
  return m;
}

export interface HeuristicOptions {
  maxTerms: number;
  minCount: number;
  seed: number;
}

export function proposeOffline(docs: readonly SourceDocument[], general: readonly string[], freq: ReadonlyMap<string, number>, opts: HeuristicOptions): Proposal[] {
  const forgetText = docs.map((d) => d.text).join("\n\n");
  const terms = capitalisedTerms(forgetText);
  const forgetWords = lowerCounts([forgetText]);
  const generalWords = lowerCounts(general);
  const forgetTotal = [...forgetWords.values()].reduce((a, b) => a + b, 0) || 1;
  const generalTotal = ([...generalWords.values()].reduce((a, b) => a + b, 0) || 1) + 51_000_000;
  const rareInEnglish = (w: string) => englishCount(freq, w) < 20 && (generalWords.get(w) ?? 0) + (generalWords.get(w.toLowerCase()) ?? 0) <= 1;
  const scored: { term: string; score: number; c: TermCounts }[] = [];
  for (const [term, c] of terms) {
    if (c.count < opts.minCount) continue;
    const words = term.split(" ");
    if (words.some((w) => TITLES.has(w))) continue;
    // Every word must be unusual, and not a sentence-initial capital of a lower-case word.
    if (!words.every((w) => rareInEnglish(w) && (forgetWords.get(w.toLowerCase()) ?? 0) * 4 < (forgetWords.get(w) ?? 0) + 1)) continue;
    const general = words.reduce((n, w) => n + englishCount(freq, w) + (generalWords.get(w) ?? 0), 0);
    const score = Math.log((c.count + 0.5) / forgetTotal) - Math.log((general + 0.5) / generalTotal);
    scored.push({ term, score, c });
  }
  scored.sort((a, b) => b.score - a.score || (a.term < b.term ? -1 : 1));
  return scored.slice(0, opts.maxTerms).map(({ term, c }) => {
    const place = c.inPlaceName * 2 >= c.count || (c.afterPreposition > c.nearSpeech && c.afterPreposition * 3 >= c.count);
    const category = place ? "place" : "person";
    const familyName = !place && !term.includes(" ") && c.lastOfRun * 2 >= c.count;
    return { term, category, translations: genericTranslations(term, category, opts.seed, familyName) };
  });
}

/** Two different generic candidates from the shipped lists, chosen by a seed and the term. */
export function genericTranslations(term: string, category: string, seed: number, familyName = false): string[] {
  const rnd = seededRandom(deriveSeed(seed, "heuristic", term));
  const pick = (list: readonly string[], n: number) => {
    const idx = list.map((_, i) => i);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(rnd() * (idx.length - i));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx.slice(0, n).map((i) => list[i]);
  };
  if (category === "place") return pick(PLACE_NOUNS, 2);
  const words = term.split(" ").length;
  if (words === 1) return pick(familyName ? FAMILY_NAMES : FIRST_NAMES, 2);
  const firsts = pick(FIRST_NAMES, 2);
  const lasts = pick(FAMILY_NAMES, 2);
  return firsts.map((f, i) => `${f} ${lasts[i]}`);
}
