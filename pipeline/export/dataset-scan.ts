/**
 * What the dataset folder needs to know about the whole run before it writes a row: how many blocks
 * (the held-out split draws from all of them), which blocks teach nothing, and the card's label
 * counts. Gathered one label row at a time (the export stage does it while it writes train.jsonl), so
 * the dataset is written in one more streaming pass instead of from rows held in memory. What it keeps
 * grows with the number of blocks the run leaves out (usually none), not with the corpus's tokens.
 */
import type { LabelRow } from "../schemas/labels.js";
import { IGNORE } from "./formats.js";

export interface DatasetScan {
  blocks: number;
  /** Blocks whose every main label is -100 (a short tail block inside an anchor), by index and id. */
  untrainable: Map<number, string>;
  /** The main labels: trained = labels != -100; masked = -100 after position 0 (anchor-internal or
   * repeated); position 0 of each block, which no prediction targets, is neither. */
  labelCounts: { trained: number; masked: number; firsts: number };
}

export function emptyScan(): DatasetScan {
  return { blocks: 0, untrainable: new Map(), labelCounts: { trained: 0, masked: 0, firsts: 0 } };
}

/** Adds the next block's label row (in blocks.jsonl order) to the scan. */
export function addToScan(scan: DatasetScan, row: Pick<LabelRow, "id" | "labels">): void {
  const main = row.labels[0];
  let trained = 0;
  for (let t = 0; t < main.length; t++) {
    if (main[t] !== IGNORE) trained++;
    else if (t > 0) scan.labelCounts.masked++;
  }
  scan.labelCounts.trained += trained;
  scan.labelCounts.firsts++;
  // A label >= 0 is a trained one; -100 is the only negative label a row may hold.
  if (!main.some((l) => l >= 0)) scan.untrainable.set(scan.blocks, row.id);
  scan.blocks++;
}

/** The scan of rows already in memory (tests, small callers). */
export function scanRows(rows: Iterable<Pick<LabelRow, "id" | "labels">>): DatasetScan {
  const scan = emptyScan();
  for (const r of rows) addToScan(scan, r);
  return scan;
}
