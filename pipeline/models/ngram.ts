/**
 * The embedded default language model: a token-level interpolated Kneser-Ney n-gram over integer ids.
 *
 * Notation. A context h is the last d tokens of the history (d = 0 .. order-1); it predicts with the
 * n-grams of order d + 1. Its level in the interpolation is d. For an n-gram (h, t):
 *   c(h, t)  raw weighted count at the highest order; at lower orders the continuation count (number of
 *            distinct tokens seen just left of it) plus its raw weighted count where it starts a
 *            sequence and so has no left token (the KenLM convention);
 *   alpha(h, t) = (c(h, t) - D_{d+1}) / c(h),   gamma(h) = D_{d+1} * N1+(h .) / c(h),
 *   P(t | h) = alpha(h, t) + gamma(h) * P(t | h minus its oldest token),  and at d = 0 the lower
 *   distribution is uniform over the vocabulary. A context with no followers is skipped (its mass
 *   goes to the next lower order unchanged).
 * Unrolled over the chain of seen suffixes h_0 (empty) .. h_m (deepest seen):
 *   P(t) = base + sum_d B_d * alpha(h_d, t),  B_d = prod_{j > d} gamma(h_j),  base = B_0 * gamma(h_0) / V.
 * Both the dense and the top-k paths evaluate exactly this sum in this order, so they agree bit for bit.
 *
 * Contexts live in a trie over the reversed history (child = one more token further back), so one walk
 * per position finds every order. Counts are frozen into typed arrays after training.
 */
import type { FullRows, LogitSource, ModelIdentity, RowRequest, Rows, TopKRows } from "../core/rows.js";

export interface NgramSequence {
  readonly tokens: ArrayLike<number>;
  /** Positive integer multiplying this sequence's raw counts. */
  readonly weight: number;
}

export interface NgramOptions {
  readonly order: number;
  readonly vocabSize: number;
  readonly name: string;
  readonly maxModelLen?: number;
}

/** Discount for one order from its count-of-counts. Weighted corpora can lack counts of 1 or 2
 * entirely, so clamp: D = 0 would give unseen tokens zero mass, D = 1 would throw all counts away. */
export function discountFor(n1: number, n2: number): number {
  if (n1 + 2 * n2 === 0) return 0.5;
  return Math.min(0.9, Math.max(0.1, n1 / (n1 + 2 * n2)));
}

export function trainKneserNey(sequences: readonly NgramSequence[], opts: NgramOptions): NgramModel {
  const { order, vocabSize } = opts;
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`n-gram order must be a positive integer, got ${order}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > 2 ** 30) throw new RangeError(`vocabSize must be a positive integer, got ${vocabSize}`);
  const raw = countNgrams(sequences, order, vocabSize);
  return new NgramModel(freeze(raw, order, vocabSize), opts, { sequences: sequences.length, tokens: raw.tokens });
}

// ---------------------------------------------------------------------------------------------------
// Training: counting

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
interface RawCounts {
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

function countNgrams(sequences: readonly NgramTargetSequence[], order: number, V: number): RawCounts {
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

function checkToken(t: number, V: number): number {
  if (!Number.isInteger(t) || t < 0 || t >= V) throw new RangeError(`token id ${t} is outside the vocabulary 0..${V - 1}`);
  return t;
}

// ---------------------------------------------------------------------------------------------------
// Training: freezing into typed arrays

interface Frozen {
  order: number;
  V: number;
  discounts: number[];
  /** Entries of node k are [entryStart[k], entryStart[k+1]) in both orders below. */
  entryStart: Int32Array;
  /** By alpha descending, ties by token ascending: the scan order of the top-k search. */
  scanTok: Int32Array;
  scanAlpha: Float64Array;
  /** By token ascending: for lookups. */
  lookTok: Int32Array;
  lookAlpha: Float64Array;
  gamma: Float64Array;
  /** Children of node k are [childStart[k], childStart[k+1]), by token ascending. */
  childStart: Int32Array;
  childTok: Int32Array;
  childNode: Int32Array;
}

function freeze(c: RawCounts, order: number, V: number): Frozen {
  const E = c.entries.size;
  const nNodes = c.nodes.size + 1;
  const entNode = c.entries.a.subarray(0, E);
  const entTok = c.entries.b.subarray(0, E);
  const depth = (e: number) => c.nodeDepth[entNode[e]];

  // Adjusted counts: raw at the highest order; otherwise start count + one per distinct left token,
  // i.e. one per entry one level deeper that shares the token.
  const adj = new Float64Array(E);
  for (let e = 0; e < E; e++) adj[e] = depth(e) === order - 1 ? c.raw[e] : c.start[e];
  for (let e = 0; e < E; e++) if (c.lower[e] >= 0) adj[c.lower[e]] += 1;

  const n1 = new Array<number>(order).fill(0);
  const n2 = new Array<number>(order).fill(0);
  for (let e = 0; e < E; e++) {
    if (adj[e] === 1) n1[depth(e)]++;
    else if (adj[e] === 2) n2[depth(e)]++;
  }
  const discounts = n1.map((x, d) => discountFor(x, n2[d]));

  const total = new Float64Array(nNodes);
  const followers = new Float64Array(nNodes);
  for (let e = 0; e < E; e++) {
    total[entNode[e]] += adj[e];
    followers[entNode[e]]++;
  }
  // A node with no followers (only the root, when there is no data) passes all its mass down.
  const gamma = total.map((tot, k) => (tot > 0 ? (discounts[c.nodeDepth[k]] * followers[k]) / tot : 1));
  const alpha = adj.map((a, e) => (a - discounts[depth(e)]) / total[entNode[e]]);

  const byTok = groupSorted(entNode, nNodes, (x, y) => entTok[x] - entTok[y]);
  const byAlpha = groupSorted(entNode, nNodes, (x, y) => alpha[y] - alpha[x] || entTok[x] - entTok[y]);
  const nodeParent = c.nodes.a.subarray(0, nNodes - 1);
  const nodeTok = c.nodes.b.subarray(0, nNodes - 1);
  const children = groupSorted(nodeParent, nNodes, (x, y) => nodeTok[x] - nodeTok[y]);
  return {
    order,
    V,
    discounts,
    entryStart: byTok.offsets,
    scanTok: byAlpha.order.map((e) => entTok[e]),
    scanAlpha: Float64Array.from(byAlpha.order, (e) => alpha[e]),
    lookTok: byTok.order.map((e) => entTok[e]),
    lookAlpha: Float64Array.from(byTok.order, (e) => alpha[e]),
    gamma,
    childStart: children.offsets,
    childTok: children.order.map((k) => nodeTok[k]),
    childNode: children.order.map((k) => k + 1),
  };
}

/** Items grouped by group[i] (CSR offsets) and ordered by cmp within a group: a counting sort, then
 * small per-group sorts (most groups hold one or two items). */
function groupSorted(group: Int32Array, nGroups: number, cmp: (x: number, y: number) => number) {
  const offsets = new Int32Array(nGroups + 1);
  for (let i = 0; i < group.length; i++) offsets[group[i] + 1]++;
  for (let g = 0; g < nGroups; g++) offsets[g + 1] += offsets[g];
  const next = offsets.slice(0, nGroups);
  const order = new Int32Array(group.length);
  for (let i = 0; i < group.length; i++) order[next[group[i]]++] = i;
  for (let g = 0; g < nGroups; g++) if (offsets[g + 1] - offsets[g] > 1) order.subarray(offsets[g], offsets[g + 1]).sort(cmp);
  return { offsets, order };
}

// ---------------------------------------------------------------------------------------------------
// Querying

/** Per-position state: the chain of seen context nodes, their weights B_d and the uniform base. */
class Chain {
  readonly nodes: Int32Array;
  readonly B: Float64Array;
  m = 0;
  base = 0;
  constructor(order: number) {
    this.nodes = new Int32Array(order);
    this.B = new Float64Array(order);
  }
}

export class NgramModel implements LogitSource {
  readonly identity: ModelIdentity;
  readonly vocabSize: number;
  readonly logitSpace = "logprobs" as const;
  readonly maxModelLen: number;

  constructor(
    private readonly f: Frozen,
    opts: NgramOptions,
    stats: { sequences: number; tokens: number },
  ) {
    this.vocabSize = f.V;
    this.maxModelLen = opts.maxModelLen ?? Infinity;
    this.identity = Object.freeze({
      provider: "ngram",
      name: opts.name,
      order: f.order,
      vocabSize: f.V,
      sequences: stats.sequences,
      tokens: stats.tokens,
      contexts: f.gamma.length,
      ngrams: f.scanTok.length,
      discounts: f.discounts.map((d) => d.toFixed(4)).join(","),
    });
  }

  /** The whole next-token distribution after `history` (probabilities, summing to 1), for evaluation
   * code that needs every token (KL divergence, greedy decoding) without materialising log rows. */
  distribution(history: readonly number[]): Float64Array {
    const { entryStart, lookTok, lookAlpha } = this.f;
    const chain = new Chain(this.f.order);
    this.walk(history, history.length - 1, chain);
    const p = new Float64Array(this.f.V).fill(chain.base);
    for (let d = 0; d <= chain.m; d++) {
      const node = chain.nodes[d];
      for (let j = entryStart[node]; j < entryStart[node + 1]; j++) p[lookTok[j]] += chain.B[d] * lookAlpha[j];
    }
    return p;
  }

  /** Natural-log probability of `token` after `history` (only its last order - 1 tokens matter). */
  logProb(history: readonly number[], token: number): number {
    const chain = new Chain(this.f.order);
    this.walk(history, history.length - 1, chain);
    return Math.log(this.prob(chain, checkToken(token, this.f.V)));
  }

  async rows(tokens: readonly number[], request: RowRequest): Promise<Rows> {
    // A served model refuses over-long input; do the same so the embedded model cannot hide a config error.
    if (tokens.length > this.maxModelLen) throw new RangeError(`${tokens.length} tokens exceed maxModelLen ${this.maxModelLen}`);
    for (const t of tokens) checkToken(t, this.f.V);
    const k = request.topK;
    if (k === "full") return this.fullRows(tokens);
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`topK must be a positive integer or "full", got ${k}`);
    return this.topKRows(tokens, k);
  }

  private fullRows(tokens: readonly number[]): FullRows {
    const { V, entryStart, lookTok, lookAlpha } = this.f;
    const n = tokens.length;
    const values = new Float32Array(n * V);
    const p = new Float64Array(V);
    const chain = new Chain(this.f.order);
    for (let i = 0; i < n; i++) {
      this.walk(tokens, i, chain);
      p.fill(chain.base);
      for (let d = 0; d <= chain.m; d++) {
        const node = chain.nodes[d];
        const B = chain.B[d];
        for (let j = entryStart[node]; j < entryStart[node + 1]; j++) p[lookTok[j]] += B * lookAlpha[j];
      }
      for (let t = 0; t < V; t++) values[i * V + t] = Math.log(p[t]);
    }
    return { kind: "full", n, vocabSize: V, values };
  }

  private topKRows(tokens: readonly number[], k: number): TopKRows {
    const V = this.f.V;
    const n = tokens.length;
    const kk = Math.min(k, V);
    const offsets = new Int32Array(n + 1);
    const ids = new Int32Array(n * kk);
    const values = new Float32Array(n * kk);
    const floor = new Float32Array(n);
    const chain = new Chain(this.f.order);
    const heap = new TopHeap(kk);
    const seen = new Int32Array(V).fill(-1); // seen[t] === i: t was already scored at position i
    for (let i = 0; i < n; i++) {
      this.walk(tokens, i, chain);
      this.searchTopK(chain, heap, seen, i);
      heap.drainDescending(ids, values, i * kk);
      offsets[i + 1] = (i + 1) * kk;
      floor[i] = kk === V ? -Infinity : values[(i + 1) * kk - 1];
    }
    return { kind: "topk", n, vocabSize: V, offsets, ids, values, floor };
  }

  /**
   * Threshold search (Fagin's TA) for one position, into `heap`. Every level's followers are pre-sorted
   * by alpha, so an unscored token scores at most tau = base + sum_d B_d * (next unread alpha of level
   * d). Read from the level with the largest bound until the k-th best beats tau, compared after the
   * same float32 rounding the output gets, so ties resolve as in fullToTopK. Tokens no level lists all
   * score exactly `base`: they only enter when the lists run out, smallest ids first.
   */
  private searchTopK(chain: Chain, heap: TopHeap, seen: Int32Array, stamp: number): void {
    const { V, entryStart, scanTok, scanAlpha } = this.f;
    const { m, base, nodes, B } = chain;
    const ptr = new Int32Array(m + 1);
    const bound = new Float64Array(m + 1);
    const next = (d: number) => (ptr[d] < entryStart[nodes[d] + 1] ? B[d] * scanAlpha[ptr[d]] : 0);
    for (let d = 0; d <= m; d++) {
      ptr[d] = entryStart[nodes[d]];
      bound[d] = next(d);
    }
    for (;;) {
      let tau = base;
      let best = -1;
      for (let d = 0; d <= m; d++) {
        tau += bound[d];
        if (ptr[d] < entryStart[nodes[d] + 1] && (best < 0 || bound[d] > bound[best])) best = d;
      }
      if (best < 0 || (heap.full() && Math.fround(Math.log(tau)) < heap.worstValue())) break;
      const t = scanTok[ptr[best]++];
      bound[best] = next(best);
      if (seen[t] === stamp) continue;
      seen[t] = stamp;
      heap.offer(t, Math.fround(Math.log(this.prob(chain, t))));
    }
    const atBase = Math.fround(Math.log(base));
    for (let t = 0; t < V; t++) {
      if (seen[t] !== stamp && !heap.offer(t, atBase)) break; // every later id ties and loses too
    }
  }

  /** Fills `chain` for the context ending at tokens[i] (i = -1: empty context). */
  private walk(tokens: readonly number[], i: number, chain: Chain): void {
    const { order, gamma } = this.f;
    let node = 0;
    let m = 0;
    chain.nodes[0] = 0;
    for (let d = 1; d < order && i - d + 1 >= 0; d++) {
      node = this.child(node, tokens[i - d + 1]);
      if (node < 0) break;
      chain.nodes[d] = node;
      m = d;
    }
    chain.m = m;
    chain.B[m] = 1;
    for (let d = m - 1; d >= 0; d--) chain.B[d] = chain.B[d + 1] * gamma[chain.nodes[d + 1]];
    chain.base = (chain.B[0] * gamma[0]) / this.f.V;
  }

  /** P(t) for a walked chain, summed in the same order as fullRows. */
  private prob(chain: Chain, t: number): number {
    const { entryStart, lookTok, lookAlpha } = this.f;
    let p = chain.base;
    for (let d = 0; d <= chain.m; d++) {
      const node = chain.nodes[d];
      const j = binarySearch(lookTok, entryStart[node], entryStart[node + 1], t);
      if (j >= 0) p += chain.B[d] * lookAlpha[j];
    }
    return p;
  }

  private child(node: number, token: number): number {
    const { childStart, childTok, childNode } = this.f;
    const j = binarySearch(childTok, childStart[node], childStart[node + 1], token);
    return j >= 0 ? childNode[j] : -1;
  }
}

/** Position of x in the ascending slice a[lo, hi), or -1. */
function binarySearch(a: Int32Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = a[mid];
    if (v === x) return mid;
    if (v < x) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/** The k best (value, id) pairs offered: a binary heap with the worst (lowest value, then largest id)
 * on top. Ranking matches fullToTopK: value descending, ties by the smaller id. */
class TopHeap {
  private readonly ids: Int32Array;
  private readonly vals: Float64Array;
  private size = 0;
  constructor(private readonly k: number) {
    this.ids = new Int32Array(k);
    this.vals = new Float64Array(k);
  }
  full(): boolean {
    return this.size === this.k;
  }
  worstValue(): number {
    return this.vals[0];
  }
  /** Keeps (id, v) if it ranks among the k best so far; false when it does not. */
  offer(id: number, v: number): boolean {
    if (this.size < this.k) {
      let i = this.size++;
      this.set(i, id, v);
      for (let p = (i - 1) >> 1; i > 0 && this.worse(i, p); i = p, p = (i - 1) >> 1) this.swap(i, p);
      return true;
    }
    if (v < this.vals[0] || (v === this.vals[0] && id > this.ids[0])) return false;
    this.set(0, id, v);
    this.siftDown();
    return true;
  }
  /** Writes the contents best-first at ids/values[offset..] and empties the heap. */
  drainDescending(ids: Int32Array, values: Float32Array, offset: number): void {
    while (this.size > 0) {
      const last = --this.size;
      ids[offset + last] = this.ids[0];
      values[offset + last] = this.vals[0];
      this.swap(0, last);
      this.siftDown();
    }
  }
  private siftDown(): void {
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      let w = i;
      if (l < this.size && this.worse(l, w)) w = l;
      if (l + 1 < this.size && this.worse(l + 1, w)) w = l + 1;
      if (w === i) return;
      this.swap(i, w);
      i = w;
    }
  }
  private worse(a: number, b: number): boolean {
    return this.vals[a] < this.vals[b] || (this.vals[a] === this.vals[b] && this.ids[a] > this.ids[b]);
  }
  private set(i: number, id: number, v: number): void {
    this.ids[i] = id;
    this.vals[i] = v;
  }
  private swap(a: number, b: number): void {
    const [id, v] = [this.ids[a], this.vals[a]];
    this.set(a, this.ids[b], this.vals[b]);
    this.set(b, id, v);
  }
}

// ---------------------------------------------------------------------------------------------------
// Training with target overrides (the sandbox "fine-tune")

/** A sequence whose counted next token can be overridden per position: targets[p] >= 0 is counted at p
 * instead of tokens[p] (contexts still read `tokens`); a negative target (e.g. -100) keeps tokens[p]. */
export interface NgramTargetSequence extends NgramSequence {
  readonly targets?: ArrayLike<number>;
}

/**
 * Kneser-Ney over sequences with per-position target overrides. Applying a fine-tuning dataset in the
 * Hugging Face convention (labels[p] = the target for token p, -100 = untouched) to an n-gram means
 * moving each labelled occurrence's count from the original token to the label, which is exactly
 * counting with targets = labels. Without targets this equals trainKneserNey.
 */
export function trainKneserNeyWithTargets(sequences: readonly NgramTargetSequence[], opts: NgramOptions): NgramModel {
  return trainKneserNey(sequences, opts);
}
