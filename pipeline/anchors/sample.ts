/**
 * Cuts the forget corpus into passages that fit the model's context, and picks which to send. Pure.
 * Every document gives at least one passage; with "all", passages tile every document completely.
 * The seed shifts where the tiling starts in each document and picks the passages when only some are
 * sent, so two seeds see different cuts while one seed always sees the same.
 */
import { deriveSeed, seededRandom } from "../core/hash.js";

export interface SourceDocument {
  id: string;
  text: string;
}

export interface Passage {
  /** `<document id>@<start char>`: stable for the same corpus, seed and budget. */
  id: string;
  docId: string;
  start: number;
  end: number;
  text: string;
}

export interface Coverage {
  documents: number;
  documentsCovered: number;
  chars: number;
  charsCovered: number;
  passages: number;
}

/** The end of a window starting at `start`: a paragraph break, else a sentence end, else a space in
 * the last third of the budget, so passages do not start or end mid-word. */
export function windowEnd(text: string, start: number, budget: number): number {
  const hardEnd = Math.min(text.length, start + budget);
  if (hardEnd === text.length) return hardEnd;
  const window = text.slice(start, hardEnd);
  const floor = Math.floor(budget * 0.66);
  for (const re of [/\n\s*\n/g, /[.!?]["'\u201d\u2019)]?\s/g, /\s/g]) {
    let last = -1;
    for (const m of window.matchAll(re)) if (m.index + m[0].length >= floor) last = m.index + m[0].length;
    if (last > 0) return start + last;
  }
  return hardEnd;
}

/** Tiles one document with windows of at most `budget` characters. The first window is shortened by
 * a seeded amount so the cuts move with the seed. */
export function tileDocument(doc: SourceDocument, budget: number, seed: number): Passage[] {
  const out: Passage[] = [];
  const rnd = seededRandom(deriveSeed(seed, "passages", doc.id));
  let start = 0;
  let first = true;
  while (start < doc.text.length) {
    const room = first && doc.text.length > budget ? Math.max(Math.floor(budget / 2), Math.floor(budget * (0.5 + rnd() * 0.5))) : budget;
    first = false;
    const end = windowEnd(doc.text, start, room);
    const text = doc.text.slice(start, end);
    if (text.trim()) out.push({ id: `${doc.id}@${start}`, docId: doc.id, start, end, text });
    start = end;
  }
  return out;
}

export function samplePassages(docs: readonly SourceDocument[], opts: { budget: number; perDocument: number | "all"; seed: number }): { passages: Passage[]; coverage: Coverage } {
  const passages: Passage[] = [];
  let charsCovered = 0;
  let documentsCovered = 0;
  for (const doc of docs) {
    const tiles = tileDocument(doc, opts.budget, opts.seed);
    let chosen = tiles;
    if (opts.perDocument !== "all" && tiles.length > opts.perDocument) {
      // A seeded partial shuffle, then back to reading order so the raw file reads like the corpus.
      const rnd = seededRandom(deriveSeed(opts.seed, "pick", doc.id));
      const idx = tiles.map((_, i) => i);
      for (let i = 0; i < opts.perDocument; i++) {
        const j = i + Math.floor(rnd() * (idx.length - i));
        [idx[i], idx[j]] = [idx[j], idx[i]];
      }
      chosen = idx.slice(0, opts.perDocument).sort((a, b) => a - b).map((i) => tiles[i]);
    }
    if (chosen.length) documentsCovered++;
    for (const p of chosen) charsCovered += p.end - p.start;
    passages.push(...chosen);
  }
  const chars = docs.reduce((n, d) => n + d.text.length, 0);
  return { passages, coverage: { documents: docs.length, documentsCovered, chars, charsCovered, passages: passages.length } };
}

export function describeCoverage(c: Coverage): string {
  const pct = c.chars ? ((100 * c.charsCovered) / c.chars).toFixed(1) : "0.0";
  return `${c.passages} passages cover ${c.documentsCovered}/${c.documents} documents and ${c.charsCovered}/${c.chars} characters (${pct}%)`;
}
