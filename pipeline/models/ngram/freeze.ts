/**
 * Training, step 2: freezing the raw counts into typed arrays (notation: ../ngram.ts): per-order
 * discounts from count-of-counts, continuation counts, each context's alpha and gamma, and the entries
 * in the two orders the queries read (by alpha for the top-k search, by token for lookups).
 */
import type { RawCounts } from "./count.js";

/** Discount for one order from its count-of-counts. Weighted corpora can lack counts of 1 or 2
 * entirely, so clamp: D = 0 would give unseen tokens zero mass, D = 1 would throw all counts away. */
export function discountFor(n1: number, n2: number): number {
  if (n1 + 2 * n2 === 0) return 0.5;
  return Math.min(0.9, Math.max(0.1, n1 / (n1 + 2 * n2)));
}

export interface Frozen {
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

export function freeze(c: RawCounts, order: number, V: number): Frozen {
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
