/**
 * A generated book-scale forget corpus and dictionary, seeded, for the review page's bench and tests
 * (issue 16: ~1,600 terms over ~6 MB, the scale of the original work). What it imitates, because it is
 * what costs time or breaks matching on real books:
 * - prose of ordinary English with names in it, term frequencies skewed (a few main characters occur
 *   thousands of times, most terms a handful of times, a few never), most names local to a chapter;
 * - multi-word terms that contain shorter terms ("Tamsin Quillfeather", "Tamsin"), places with a
 *   possessive ("Wendel's Cross"), titles ("Professor Vane");
 * - possessives and quotes written both ways: straight (') and curly (’ ‘ “ ”), mixed within one book;
 * - candidates shared between terms (a translator reuses a few dozen generic names) and main
 *   characters with many candidates (12-44, the authors' Hermione and Dumbledore).
 * Deterministic: the same options give the same bytes.
 */
import { seededRandom } from "../pipeline/core/hash.js";

export interface BookCorpusOptions {
  /** Approximate size of the corpus in characters, over all documents. */
  chars: number;
  /** Dictionary rows. */
  terms: number;
  seed?: number;
  /** Documents ("books") the text is split into. */
  docs?: number;
}

export interface BookCorpus {
  docs: { id: string; text: string }[];
  /** The review CSV (term,translations,category,notes,status), all rows pending. */
  csv: string;
  terms: string[];
}

const SYLLABLES = "al bra cor dan el fen gar hal ion jor kel lor mar nel or pel quin ros sel tam ul ven wyn xan yor zel bri dro fal gwen hild isa".split(" ");
const SURNAME_ENDS = "feather wood more well ford thorne worth stone vale brook".split(" ");
const PLACE_WORDS = ["Academy", "Hall", "Cross", "Alley", "Manor", "Forest", "Bridge", "Tower"];
const TITLES = ["Professor", "Madam", "Uncle", "Aunt", "Captain"];
// Generic names as a translator would pick them: a few dozen, each reused by many terms.
const GENERIC_FIRST =
  "Emma Lucy Sarah Hannah Anna Kate Mary Jane Alice Helen Laura Ruth Clare Susan Julia Grace Emily Rose Amy Beth Tom Ben Sam Jack John Peter Mark Paul David James Simon Adam Daniel Michael Robert Steven Andrew Chris Henry Frank".split(" ");
const GENERIC_LAST = "Carter Walker Mills Harris Cooper Turner Baker Hill Wood Green Clark Lewis Young Allen King Wright Scott Hall Adams Nelson".split(" ");
const WORDS =
  "the a and of to in was he she it that had his her with as for at on but not they said by from were be this have one all there an which would what so up out if about who them been into when more some could then time like him over only their my than now its your did just before other many after back through where much way well down should because each long our very even good new old little world great still own men day same another while last might us house never years under thing right let light hand once room night upon life eyes place door head face voice"
    .split(" ");

const pick = <T>(rand: () => number, list: readonly T[]) => list[Math.floor(rand() * list.length)];
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

/** A distinct invented name of 2-3 syllables. */
function nameMaker(rand: () => number): () => string {
  const seen = new Set<string>();
  return () => {
    for (;;) {
      const n = cap(Array.from({ length: 2 + Math.floor(rand() * 2) }, () => pick(rand, SYLLABLES)).join(""));
      if (!seen.has(n)) {
        seen.add(n);
        return n;
      }
    }
  };
}

interface Row {
  term: string;
  translations: string[];
  category: string;
}

function manyCandidates(rand: () => number, n: number): string[] {
  const out = new Set<string>();
  while (out.size < n) {
    const r = rand();
    out.add(r < 0.5 ? pick(rand, GENERIC_FIRST) : r < 0.85 ? `${pick(rand, GENERIC_FIRST)} ${pick(rand, GENERIC_LAST)}` : `Professor ${pick(rand, GENERIC_LAST)}`);
  }
  return [...out];
}

function dictionary(rand: () => number, n: number): Row[] {
  const name = nameMaker(rand);
  const rows: Row[] = [];
  const seen = new Set<string>();
  const add = (r: Row) => {
    if (rows.length < n && !seen.has(r.term)) {
      seen.add(r.term);
      rows.push(r);
    }
  };
  while (rows.length < n) {
    const kind = rand();
    const first = name();
    const tr = () => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(rand, GENERIC_FIRST));
    if (kind < 0.45) {
      // A character: first name, family name and the full name, each a term.
      const last = cap(pick(rand, SYLLABLES)) + pick(rand, SURNAME_ENDS);
      // The main characters (the first rows: the most frequent terms) collect many candidates over
      // hundreds of answers, as in the authors' dictionary (Dumbledore 44, Hermione 12): first names,
      // full names and titled names, most of them also some other term's candidate.
      const firsts = rows.length < 40 ? manyCandidates(rand, 12 + Math.floor(rand() * 33)) : [...new Set(tr())];
      const lasts = [...new Set([pick(rand, GENERIC_LAST), pick(rand, GENERIC_LAST)])];
      add({ term: first, translations: firsts, category: "person" });
      add({ term: last, translations: lasts, category: "person" });
      add({ term: `${first} ${last}`, translations: [`${firsts[0]} ${lasts[0]}`], category: "person" });
      if (rand() < 0.15) add({ term: `${pick(rand, TITLES)} ${last}`, translations: [`Mr ${lasts[0]}`], category: "person" });
    } else if (kind < 0.75) {
      const word = pick(rand, PLACE_WORDS);
      // Possessive place names, written with a straight apostrophe as an LLM answer would.
      const term = word === "Cross" || word === "Alley" ? `${first}'s ${word}` : `${first} ${word}`;
      add({ term, translations: [`the ${word.toLowerCase()}`, `${pick(rand, GENERIC_LAST)} ${word}`], category: "place" });
    } else {
      add({ term: first.toLowerCase() + pick(rand, ["wisp", "stone", "root", "glass"]), translations: ["lantern", "charm"], category: "thing" });
    }
  }
  return rows;
}

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function generateBookCorpus(opts: BookCorpusOptions): BookCorpus {
  const rand = seededRandom(opts.seed ?? 16);
  const rows = dictionary(rand, opts.terms);
  // Zipf-like weights: the first terms are the main characters. A few terms (every 97th) never occur.
  const weights = rows.map((_, i) => (i % 97 === 96 ? 0 : 1 / (i + 1) ** 0.9));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) cumulative.push((acc += w / total));
  const zipf = () => {
    const x = rand();
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return rows[lo].term;
  };
  // As in a book, most characters and places belong to a chapter: each chapter draws its cast (the
  // frequent terms recur in many chapters), and half the mentions are of the cast, half of anyone.
  let cast: string[] = [];
  const newChapter = () => (cast = Array.from({ length: 40 }, zipf));
  const term = () => (rand() < 0.5 || cast.length === 0 ? zipf() : pick(rand, cast));
  const apostrophe = () => (rand() < 0.5 ? "'" : "\u2019");
  const curlyText = (s: string) => s.replace(/'/g, apostrophe);
  const sentence = () => {
    const words: string[] = [];
    const len = 6 + Math.floor(rand() * 14);
    for (let i = 0; i < len; i++) {
      const r = rand();
      if (r < 0.05) {
        const t = curlyText(term());
        words.push(r < 0.012 ? `${t}${apostrophe()}s` : t);
      } else words.push(pick(rand, WORDS));
    }
    let s = words.join(" ");
    s = s[0].toUpperCase() + s.slice(1);
    const q = rand();
    if (q < 0.15) return `\u201c${s},\u201d said ${curlyText(term())}.`;
    if (q < 0.25) return `"${s}," ${pick(rand, ["she", "he"])} said.`;
    if (q < 0.3) return `\u2018${s}\u2019 \u2014 ${pick(rand, WORDS)}.`;
    return `${s}.`;
  };
  const docCount = opts.docs ?? 7;
  const docs: BookCorpus["docs"] = [];
  for (let d = 0; d < docCount; d++) {
    const parts: string[] = [];
    let size = 0;
    while (size < opts.chars / docCount) {
      if (parts.length % 30 === 0) newChapter();
      const para = Array.from({ length: 3 + Math.floor(rand() * 5) }, sentence).join(" ");
      parts.push(para);
      size += para.length + 2;
    }
    docs.push({ id: `forget/book-${d + 1}.txt`, text: parts.join("\n\n") + "\n" });
  }
  const csv = ["term,translations,category,notes,status", ...rows.map((r) => [r.term, r.translations.join("|"), r.category, "", "pending"].map(csvCell).join(","))].join("\n") + "\n";
  return { docs, csv, terms: rows.map((r) => r.term) };
}
