/**
 * Which labelled positions go to the uncertain-label queue: pure selection over the uncertainty rows.
 *
 * Order (most uncertain first): margin ascending (null = no finite margin, first), then the
 * baseline's probability ascending (null first), then block order and position, so the queue is the
 * same on every machine. By default the lowest `quantile` share of labelled positions is taken
 * (ceil(quantile * positions), ties broken by that order); `maxMargin` keeps only positions whose
 * margin is at most that value; given both, a position must pass both.
 */
import { join } from "node:path";
import type { UncertaintyRow } from "./uncertainty.js";

export interface QueueEntry {
  block: string;
  blockIndex: number;
  /** Hugging Face label position: labels[position] is the target for input_ids[position]. */
  position: number;
  /** The combination's label (main alpha), before any review. */
  label: number;
  prob: number | null;
  margin: number | null;
  runnerUps: number[];
}

export interface QueueSelection {
  entries: QueueEntry[];
  /** Labelled positions considered. */
  total: number;
  /** The largest margin in the queue (null when it is empty or only holds null margins). */
  threshold: number | null;
}

export const DEFAULT_QUANTILE = 0.02;

/** Where `whp review-queue labels` writes its CSV, under the run folder. */
export const DEFAULT_QUEUE_FILE = join("review", "labels-queue.csv");

/** null sorts before every number. */
const nullFirst = (a: number | null, b: number | null): number => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a - b);

export function compareEntries(a: QueueEntry, b: QueueEntry): number {
  return nullFirst(a.margin, b.margin) || nullFirst(a.prob, b.prob) || a.blockIndex - b.blockIndex || a.position - b.position;
}

export function selectQueue(rows: readonly UncertaintyRow[], opts: { quantile?: number; maxMargin?: number }): QueueSelection {
  const all: QueueEntry[] = [];
  rows.forEach((r, blockIndex) => {
    r.positions.forEach((position, k) => all.push({ block: r.id, blockIndex, position, label: r.labels[k], prob: r.prob[k], margin: r.margin[k], runnerUps: r.runnerUps[k] }));
  });
  all.sort(compareEntries);
  let entries = opts.quantile === undefined ? all : all.slice(0, Math.ceil(opts.quantile * all.length - 1e-9));
  if (opts.maxMargin !== undefined) {
    const max = opts.maxMargin;
    entries = entries.filter((e) => e.margin === null || e.margin <= max);
  }
  const last = entries.length ? entries[entries.length - 1].margin : null;
  return { entries, total: all.length, threshold: last };
}
