/**
 * Benchmark of the combination step alone (pipeline/core/combine.ts): positions/s on one core for
 * top-20 rows over a 32k vocabulary with 3 alphas (target: >= 1,000,000), plus full rows for scale.
 * Called by bench/run.ts; `npx tsx bench/combine.bench.ts` runs it alone and prints the figures.
 *
 * The synthetic blocks look like the real thing where it matters for speed: 512 positions, the
 * translated block a little longer, a few masked positions, baseline and reinforced top-k lists that
 * mostly overlap, rows of 20 or 21 entries (vLLM adds the actual next token), and forbidden events
 * late in each block so that most positions have none and some have a few.
 */
import { seededRandom } from "../pipeline/core/hash.js";
import { pathToFileURL } from "node:url";
import { type CombineInput, combineBlock } from "../pipeline/core/combine.js";
import type { FullRows, TopKRows } from "../pipeline/core/rows.js";

export interface CombineBenchResult {
  /** Top-k rows: aligned (unmasked) positions combined per second of wall-clock time (median run). */
  positionsPerSecond: number;
  medianMs: number;
  /** The same per second of this process's CPU time, which leaves out time spent waiting for a CPU
   * on a busy machine (the work is single-threaded; GC threads count too). */
  positionsPerCpuSecond: number;
  runs: number;
  positionsPerRun: number;
  vocabSize: number;
  topK: number;
  alphas: readonly number[];
  /** Share of combined positions (main alpha) the top-k values could not certify. */
  uncertifiedShare: number;
  /** Full rows over the same vocabulary: positions per second (median run). */
  fullRowsPositionsPerSecond: number;
}

const V = 32_000;
const K = 20;
const ALPHAS = [5, 2.5, 10] as const;
const BLOCK = 512;

/** Deterministic data, so runs are comparable. */
const rng = seededRandom;

/** A token id skewed towards small ids (frequent tokens), so lists and forbidden tokens overlap. */
const token = (rand: () => number) => Math.min(V - 1, Math.floor(V * rand() ** 4));

function topKRows(rand: () => number, lists: number[][], noise: number): TopKRows {
  const offsets = new Int32Array(lists.length + 1);
  const ids: number[] = [];
  const values: number[] = [];
  const floor = new Float32Array(lists.length);
  lists.forEach((list, i) => {
    let v = -0.3 - rand();
    let min = Infinity;
    for (const id of list) {
      ids.push(id);
      const x = Math.fround(v + noise * (rand() - 0.5));
      values.push(x);
      min = Math.min(min, x);
      v -= 0.2 + 0.3 * rand();
    }
    offsets[i + 1] = ids.length;
    floor[i] = min;
  });
  return { kind: "topk", n: lists.length, vocabSize: V, offsets, ids: Int32Array.from(ids), values: Float32Array.from(values), floor };
}

/** Distinct ids for one row: 20 of them, sometimes 21. */
function row(rand: () => number, keep: readonly number[] = [], replace = 0): number[] {
  const ids = new Set(keep.slice(0, keep.length - replace));
  const want = rand() < 0.3 ? K + 1 : K;
  while (ids.size < want) ids.add(token(rand));
  return [...ids];
}

function makeBlock(seed: number): CombineInput {
  const rand = rng(seed);
  const translatedLength = BLOCK + 8;
  const baselineLists = Array.from({ length: translatedLength }, () => row(rand));
  const map = new Int32Array(BLOCK);
  let shift = 0;
  for (let i = 0; i < BLOCK; i++) {
    if (rand() < 0.02 && shift < 8) shift++;
    map[i] = rand() < 0.03 ? -1 : i + shift;
  }
  // The reinforced list at i shares most tokens with the baseline list it is compared with.
  const reinforcedLists = Array.from({ length: BLOCK }, (_, i) => row(rand, baselineLists[Math.max(0, map[i])], 4));
  const forbidden = [300, 380, 460].map((from) => ({ from, tokens: [token(rand), token(rand)] }));
  return {
    baseline: topKRows(rand, baselineLists, 0),
    reinforced: topKRows(rand, reinforcedLists, 0.6),
    map,
    forbidden,
    alphas: ALPHAS,
    logitSpace: "logprobs",
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Times `work` (warm-up passes first, so the JIT has compiled the hot loops) and returns the
 * median wall-clock and CPU milliseconds of `runs` runs. */
function timeMedian(work: () => void, warmup: number, runs: number): { wallMs: number; cpuMs: number } {
  for (let w = 0; w < warmup; w++) work();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    work();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

function benchFullRows(): number {
  const rand = rng(99);
  const n = 32;
  const values = () => Float32Array.from({ length: n * V }, () => Math.fround(-10 * rand()));
  const reinforced: FullRows = { kind: "full", n, vocabSize: V, values: values() };
  const baseline: FullRows = { kind: "full", n, vocabSize: V, values: values() };
  const input: CombineInput = { reinforced, baseline, map: Int32Array.from({ length: n }, (_, i) => i), forbidden: [{ from: 16, tokens: [1, 2, 3] }], alphas: ALPHAS, logitSpace: "logits" };
  const { wallMs } = timeMedian(() => combineBlock(input), 2, 5);
  return n / (wallMs / 1000);
}

export async function benchCombine(opts: { blocks?: number; runs?: number } = {}): Promise<CombineBenchResult> {
  const blocks = Array.from({ length: opts.blocks ?? 64 }, (_, b) => makeBlock(1000 + b));
  const positions = blocks.reduce((n, b) => n + b.map.reduce((m, j) => m + (j >= 0 ? 1 : 0), 0), 0);
  let uncertified = 0;
  const pass = () => {
    uncertified = 0;
    for (const b of blocks) uncertified += combineBlock(b).uncertified[0];
  };
  const runs = opts.runs ?? 9;
  const { wallMs, cpuMs } = timeMedian(pass, 3, runs);
  return {
    positionsPerSecond: positions / (wallMs / 1000),
    medianMs: wallMs,
    positionsPerCpuSecond: positions / (cpuMs / 1000),
    runs,
    positionsPerRun: positions,
    vocabSize: V,
    topK: K,
    alphas: ALPHAS,
    uncertifiedShare: uncertified / positions,
    fullRowsPositionsPerSecond: benchFullRows(),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchCombine();
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
  console.log(`combination, top-k ${r.topK}, vocabulary ${fmt(r.vocabSize)}, alphas ${r.alphas.join("/")}, one core:`);
  console.log(`  ${fmt(r.positionsPerSecond)} positions/s (median of ${r.runs} runs of ${fmt(r.positionsPerRun)} positions, ${r.medianMs.toFixed(1)} ms each; target >= 1,000,000)`);
  console.log(`  ${fmt(r.positionsPerCpuSecond)} positions per CPU second (less sensitive to other jobs on the machine)`);
  console.log(`  uncertified: ${(100 * r.uncertifiedShare).toFixed(1)}% of positions at alpha ${r.alphas[0]} (synthetic rows)`);
  console.log(`  full rows: ${fmt(r.fullRowsPositionsPerSecond)} positions/s`);
}
