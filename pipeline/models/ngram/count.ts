/**
 * Training, step 1: counting n-grams into a trie of contexts (notation: ../ngram.ts). Contexts are
 * nodes over the reversed history (child = one more token further back); an entry is a (context,
 * next token) pair with its raw weighted count, its count as a sequence start, and a link to the same
 * token one order lower, which freezing turns into Kneser-Ney continuation counts.
 */

export interface NgramSequence {
  readonly tokens: ArrayLike<number>;
  /** Positive integer multiplying this sequence's raw counts. */
  readonly weight: number;
}

/** A sequence whose counted next token can be overridden per position: targets[p] >= 0 is counted at p
 * instead of tokens[p] (contexts still read `tokens`); a negative target (e.g. -100) keeps tokens[p]. */
export interface NgramTargetSequence extends NgramSequence {
  readonly targets?: ArrayLike<number>;
}

/** Open-addressing hash from an (int, int) pair to a dense index in insertion order. Replaces a Map so
 * that memory stays in typed arrays and indices depend only on the data's order. */
class PairIndex {
  a: Int32Array = new Int32Array(1024);
  b: Int32Array = new Int32Array(1024);
  size = 0;
  private slots = new Int32Array(2048).fill(-1);

  /** Index of (x, y), appending it when absent (then the result equals the previous size). */
  add(x: number, y: number): number {
    const mask = this.slots.length - 1;
    let s = hashPair(x, y) & mask;
    for (let i = this.slots[s]; i >= 0; i = this.slots[s]) {
      if (this.a[i] === x && this.b[i] === y) return i;
      s = (s + 1) & mask;
    }
    const i = this.size++;
    if (i === this.a.length) {
      this.a = grow(this.a);
      this.b = grow(this.b);
    }
    this.a[i] = x;
    this.b[i] = y;
    this.slots[s] = i;
    if (this.size * 2 > this.slots.length) this.rehash();
    return i;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = this.slots.length - 1;
    for (let i = 0; i < this.size; i++) {
      let s = hashPair(this.a[i], this.b[i]) & mask;
      while (this.slots[s] >= 0) s = (s + 1) & mask;
      this.slots[s] = i;
    }
  }
}

function hashPair(x: number, y: number): number {
  let h = Math.imul(x, 0x9e3779b1) ^ Math.imul(y + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Raw counts. A node is a context (node 0 = empty context; node k > 0 is nodes' pair k - 1 =
 * (parent node, the token one step further back)); an entry is an (context node, next token) pair. */
export interface RawCounts {
  nodes: PairIndex;
  nodeDepth: number[];
  entries: PairIndex;
  raw: number[];
  /** Weighted count of occurrences with no left token (the n-gram starts its sequence). */
  start: number[];
  /** The entry for the same token after the context minus its oldest token; -1 at the root. */
  lower: number[];
  tokens: number;
}

export function countNgrams(sequences: readonly NgramTargetSequence[], order: number, V: number): RawCounts {
  const c: RawCounts = { nodes: new PairIndex(), nodeDepth: [0], entries: new PairIndex(), raw: [], start: [], lower: [], tokens: 0 };
  for (const { tokens: seq, weight: w, targets } of sequences) {
    if (!Number.isInteger(w) || w < 1) throw new RangeError(`sequence weights must be positive integers, got ${w}`);
    if (targets && targets.length !== seq.length) throw new RangeError(`targets must be as long as the sequence (${seq.length}), got ${targets.length}`);
    for (let p = 0; p < seq.length; p++) {
      // A target override (>= 0) replaces the token counted at p; the contexts still read the sequence.
      const t = checkToken(targets && targets[p] >= 0 ? targets[p] : seq[p], V);
      let node = 0;
      let lower = -1;
      for (let d = 0; d < order && d <= p; d++) {
        if (d > 0) node = childNode(c, node, checkToken(seq[p - d], V));
        const before = c.entries.size;
        const e = c.entries.add(node, t);
        if (e === before) {
          c.raw.push(0);
          c.start.push(0);
          c.lower.push(lower);
        }
        c.raw[e] += w;
        if (p === d) c.start[e] += w;
        lower = e;
      }
    }
    c.tokens += seq.length;
  }
  return c;
}

function childNode(c: RawCounts, parent: number, token: number): number {
  const before = c.nodes.size;
  const k = c.nodes.add(parent, token);
  if (k === before) c.nodeDepth.push(c.nodeDepth[parent] + 1);
  return k + 1;
}

export function checkToken(t: number, V: number): number {
  if (!Number.isInteger(t) || t < 0 || t >= V) throw new RangeError(`token id ${t} is outside the vocabulary 0..${V - 1}`);
  return t;
}
