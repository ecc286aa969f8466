/**
 * Trains the demo tokenizer (demo/tokenizer.json): a Llama-2-style SentencePiece-BPE tokenizer with
 * byte fallback, 32,000 ids, in the Hugging Face tokenizer.json format, trained ONLY on the general
 * English corpus demo/general/*.txt (never on the forget corpus, like a real model's tokenizer).
 *
 * Vocabulary layout (as in Llama-2):
 *   0 "<unk>", 1 "<s>", 2 "</s>"
 *   3..258      "<0x00>".."<0xFF>"  byte-fallback tokens
 *   259..       merged BPE pieces, in the order they were learned
 *   next 95     single characters: "\u2581" (the space marker) and printable ASCII "!".."~",
 *               most frequent in the corpus first (ties and unseen characters by code point)
 *   rest        "<unused_0>", "<unused_1>", ... up to id 31,999: placeholders that no input ever
 *               encodes to (they are not single characters and no merge produces them)
 *
 * Why placeholders: a ~125,000-word corpus holds only ~20,000 distinct words, and word-internal BPE
 * runs out of pairs (every word a single piece) after ~20,500 merges, far short of the 31,646 that
 * a full 32,000 vocabulary needs (Llama-2's was trained on vastly more text). The id count is kept
 * at exactly 32,000 so ids, vocabulary size and the first 259 ids match Llama-2's layout.
 *
 * Training follows SentencePiece's BPE trainer as configured for Llama-2: every corpus line is read
 * on its own (so "\n" is never a piece and encodes through byte fallback, "<0x0A>"), a "\u2581" is
 * prepended to the line and every space becomes "\u2581", the line is split into words before each
 * "\u2581", and pairs are merged by corpus frequency, most frequent first. A merged piece must be a
 * valid SentencePiece piece: "\u2581" only as its first character, no digits (split_digits: every
 * digit stays its own token), no mix of letters and non-letters (split_by_unicode_script), at most
 * 16 characters (max_sentencepiece_length). Ties in frequency go to the pair whose left piece, then
 * right piece, sorts first by UTF-16 code units, so the output is byte-identical on every run.
 *
 * Run: npx tsx scripts/train-tokenizer.ts
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS_DIR = join(ROOT, 'demo', 'general');
const OUT_FILE = join(ROOT, 'demo', 'tokenizer.json');

const VOCAB_SIZE = 32000;
const SPACE = '\u2581';
const MAX_PIECE_CHARS = 16;
const SPECIALS = ['<unk>', '<s>', '</s>'] as const;
const BYTE_TOKENS = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
/** Single-character pieces: the space marker plus every printable ASCII character. */
const ALPHABET = [SPACE, ...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))];

// ---------------------------------------------------------------------------------------------
// Corpus -> word frequencies

function corpusFiles(): string[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => join(CORPUS_DIR, f));
}

/** Word frequencies ("\u2581"-prefixed where a space or line start precedes) and character counts. */
function countWords(files: string[]): { words: Map<string, number>; chars: Map<string, number> } {
  const words = new Map<string, number>();
  const chars = new Map<string, number>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replace(/\r\n?/g, '\n');
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      const normalized = SPACE + line.replaceAll(' ', SPACE);
      for (const ch of normalized) chars.set(ch, (chars.get(ch) ?? 0) + 1);
      // Split before every "\u2581": each word is "\u2581" + non-space characters (or a lone "\u2581").
      for (const word of normalized.split(new RegExp(`(?=${SPACE})`, 'u'))) {
        if (word.length > 0) words.set(word, (words.get(word) ?? 0) + 1);
      }
    }
  }
  return { words, chars };
}

// ---------------------------------------------------------------------------------------------
// Piece validity (SentencePiece's IsValidSentencePiece for the Llama-2 settings, ASCII corpus)

type CharClass = 'letter' | 'digit' | 'other';
const charClass = (ch: string): CharClass => (/[A-Za-z]/.test(ch) ? 'letter' : /[0-9]/.test(ch) ? 'digit' : 'other');

function isValidPiece(piece: string): boolean {
  const chars = Array.from(piece);
  if (chars.length > MAX_PIECE_CHARS) return false;
  let cls: CharClass | null = null;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === SPACE) {
      if (i > 0) return false; // the space marker only as a prefix
      continue;
    }
    const c = charClass(ch);
    if (c === 'digit' && chars.length > 1) return false; // split_digits
    if (cls !== null && c !== cls) return false; // split_by_unicode_script
    cls = c;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// BPE trainer: word-frequency BPE with incremental pair counts and a lazy max-heap.

interface HeapEntry {
  count: number;
  left: string;
  right: string;
  key: number;
}

/** Higher count first; ties: left piece, then right piece, ascending by UTF-16 code units. */
function before(a: HeapEntry, b: HeapEntry): boolean {
  if (a.count !== b.count) return a.count > b.count;
  if (a.left !== b.left) return a.left < b.left;
  return a.right < b.right;
}

class MaxHeap {
  private readonly items: HeapEntry[] = [];
  get size(): number {
    return this.items.length;
  }
  push(e: HeapEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): HeapEntry | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

interface TrainResult {
  merges: [string, string][];
  pieces: string[]; // merged pieces in order of first creation
}

/** Learns merges until `maxPieces` pieces exist or no valid pair is left, whichever comes first. */
function trainBpe(wordFreqs: Map<string, number>, maxPieces: number): TrainResult {
  // Symbols are interned as small integers; a pair key is left * 2^16 + right.
  const symbols: string[] = [];
  const symbolId = new Map<string, number>();
  const intern = (s: string): number => {
    let id = symbolId.get(s);
    if (id === undefined) {
      id = symbols.length;
      if (id >= 0x10000) throw new Error('too many symbols');
      symbols.push(s);
      symbolId.set(s, id);
    }
    return id;
  };
  const K = 0x10000;

  const wordSyms: number[][] = [];
  const wordFreq: number[] = [];
  for (const [word, freq] of wordFreqs) {
    wordSyms.push(Array.from(word, intern));
    wordFreq.push(freq);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const validCache = new Map<number, boolean>();
  const valid = (key: number): boolean => {
    let v = validCache.get(key);
    if (v === undefined) {
      v = isValidPiece(symbols[Math.floor(key / K)]! + symbols[key % K]!);
      validCache.set(key, v);
    }
    return v;
  };
  const touched = new Set<number>();
  const addPairs = (w: number, sign: 1 | -1): void => {
    const syms = wordSyms[w]!;
    const f = wordFreq[w]! * sign;
    for (let i = 0; i + 1 < syms.length; i++) {
      const key = syms[i]! * K + syms[i + 1]!;
      if (!valid(key)) continue;
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      touched.add(key);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (set === undefined) pairWords.set(key, (set = new Set()));
        set.add(w);
      }
    }
  };

  const heap = new MaxHeap();
  const flush = (): void => {
    for (const key of touched) {
      const count = pairCount.get(key) ?? 0;
      if (count > 0) heap.push({ count, left: symbols[Math.floor(key / K)]!, right: symbols[key % K]!, key });
      else {
        pairCount.delete(key);
        pairWords.delete(key);
      }
    }
    touched.clear();
  };

  for (let w = 0; w < wordSyms.length; w++) addPairs(w, 1);
  flush();

  const merges: [string, string][] = [];
  const pieces: string[] = [];
  const pieceSet = new Set<string>();
  while (pieces.length < maxPieces) {
    const top = heap.pop();
    if (top === undefined) break; // every word is a single piece: the corpus supports no more merges
    if ((pairCount.get(top.key) ?? 0) !== top.count) continue; // stale heap entry
    const a = Math.floor(top.key / K);
    const b = top.key % K;
    const merged = top.left + top.right;
    const c = intern(merged);
    merges.push([top.left, top.right]);
    if (!pieceSet.has(merged)) {
      pieceSet.add(merged);
      pieces.push(merged);
    }
    const affected = [...(pairWords.get(top.key) ?? [])].sort((x, y) => x - y);
    for (const w of affected) {
      const syms = wordSyms[w]!;
      let has = false;
      for (let i = 0; i + 1 < syms.length; i++) {
        if (syms[i] === a && syms[i + 1] === b) {
          has = true;
          break;
        }
      }
      if (!has) continue;
      addPairs(w, -1);
      const next: number[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          next.push(c);
          i++;
        } else next.push(syms[i]!);
      }
      wordSyms[w] = next;
      addPairs(w, 1);
    }
    pairWords.delete(top.key);
    flush();
  }
  return { merges, pieces };
}

// ---------------------------------------------------------------------------------------------
// tokenizer.json (Hugging Face format, laid out like Llama-2's)

function buildTokenizerJson(merges: [string, string][], pieces: string[], alphabetOrder: string[]): string {
  const vocab: Record<string, number> = {};
  let id = 0;
  const add = (tok: string): void => {
    if (Object.prototype.hasOwnProperty.call(vocab, tok)) throw new Error(`duplicate token ${tok}`);
    vocab[tok] = id++;
  };
  SPECIALS.forEach(add);
  BYTE_TOKENS.forEach(add);
  pieces.forEach(add);
  alphabetOrder.forEach(add);
  for (let n = 0; id < VOCAB_SIZE; n++) add(`<unused_${n}>`);
  if (id !== VOCAB_SIZE) throw new Error(`vocabulary has ${id} ids, expected ${VOCAB_SIZE}`);

  const special = (content: string, tokId: number) => ({
    id: tokId,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((s, i) => special(s, i)),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: merges.map(([l, r]) => `${l} ${r}`),
    },
  };
  return JSON.stringify(tokenizer, null, 2) + '\n';
}

function main(): void {
  const t0 = performance.now();
  const files = corpusFiles();
  if (files.length === 0) throw new Error(`no .txt files in ${CORPUS_DIR}; run scripts/make-general-corpus.ts first`);
  const { words, chars } = countWords(files);
  for (const ch of chars.keys()) {
    if (!ALPHABET.includes(ch)) throw new Error(`unexpected character U+${ch.codePointAt(0)!.toString(16)} in corpus`);
  }
  const alphabetOrder = [...ALPHABET].sort((x, y) => {
    const d = (chars.get(y) ?? 0) - (chars.get(x) ?? 0);
    return d !== 0 ? d : x.codePointAt(0)! - y.codePointAt(0)!;
  });
  const targetPieces = VOCAB_SIZE - SPECIALS.length - BYTE_TOKENS.length - ALPHABET.length;
  console.log(`corpus: ${files.length} files, ${words.size} distinct words; learning up to ${targetPieces} pieces`);

  const { merges, pieces } = trainBpe(words, targetPieces);
  const t1 = performance.now();
  const json = buildTokenizerJson(merges, pieces, alphabetOrder);
  writeFileSync(OUT_FILE, json);
  const sha = createHash('sha256').update(json).digest('hex');
  const firstUnused = SPECIALS.length + BYTE_TOKENS.length + pieces.length + ALPHABET.length;
  console.log(
    `merges: ${merges.length}, pieces: ${pieces.length}, characters: ${ALPHABET.length}, ` +
      `unused placeholders: ids ${firstUnused}..${VOCAB_SIZE - 1} (${VOCAB_SIZE - firstUnused}), vocab: ${VOCAB_SIZE}`,
  );
  console.log(`wrote ${OUT_FILE} (${json.length} bytes) sha256 ${sha}`);
  console.log(`training ${((t1 - t0) / 1000).toFixed(1)} s, total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main();
