/**
 * Querying a frozen n-gram model (notation: ../ngram.ts): one walk down the context trie per position
 * gives the chain of seen contexts and their weights; full rows, top-k rows (a threshold search),
 * single log-probs and whole distributions all sum P(t) = base + sum_d B_d * alpha(h_d, t) in the same
 * order, so they agree bit for bit.
 */
import type { FullRows, LogitSource, ModelIdentity, RowRequest, Rows, TopKRows } from "../../core/rows.js";
import { checkToken } from "./count.js";
import type { Frozen } from "./freeze.js";
import { TopHeap } from "./topk-heap.js";

export interface NgramOptions {
  readonly order: number;
  readonly vocabSize: number;
  readonly name: string;
  readonly maxModelLen?: number;
}

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
