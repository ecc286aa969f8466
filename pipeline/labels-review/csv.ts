/**
 * The uncertain-label queue as a CSV (<run>/review/labels-queue.csv): tool columns describing each
 * position, and three columns for the reviewer (verdict, replacement, notes). Pure text in, text out.
 *
 * Re-writing the queue never loses a reviewer's work: rows are keyed by id (block:position); a row
 * still in the queue keeps its verdict, replacement and notes (the tool columns are refreshed); a row
 * no longer in the queue that holds any of them is kept as it was, flagged in `status`; only rows
 * nobody touched are dropped. Columns the reviewer added are kept.
 */
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { UserError } from "../core/errors.js";
import { VERDICTS, type Verdict } from "./review-file.js";

export const TOOL_COLUMNS = ["id", "block", "position", "status", "original_context", "translated_context", "label", "label_id", "runner_ups", "baseline_prob", "margin"] as const;
export const HUMAN_COLUMNS = ["verdict", "replacement", "notes"] as const;
export const QUEUE_COLUMNS = [...TOOL_COLUMNS, ...HUMAN_COLUMNS] as const;

const LABEL_CHANGED = "queued; the label changed since the verdict";
export const STATUS = {
  queued: "queued",
  kept: "kept: no longer in the queue",
  labelChanged: (was: string) => `${LABEL_CHANGED} (was ${was})`,
} as const;

export type QueueCells = Record<(typeof TOOL_COLUMNS)[number], string>;

export interface ExistingQueueRow {
  /** 1-based line of the row in the file. */
  line: number;
  cells: Record<string, string>;
}

export interface ExistingQueue {
  header: string[];
  rows: ExistingQueueRow[];
}


/** Reads a queue file, checking its header and every verdict. Errors name the file, line and column. */
export function readQueueFile(text: string, file: string): ExistingQueue {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, skip_empty_lines: true, bom: true, relax_column_count: false }) as unknown as typeof records;
  } catch (e) {
    throw new UserError(`${file} is not valid CSV: ${(e as Error).message}`, "fix the row named above; nothing was changed");
  }
  if (records.length === 0) return { header: [...QUEUE_COLUMNS], rows: [] };
  const header = records[0].record.map((h) => h.trim().toLowerCase());
  const missing = ["id", "block", "position", "verdict"].filter((c) => !header.includes(c));
  if (missing.length) throw new UserError(`${file} is missing column(s) ${missing.join(", ")}`, `the first row must name ${QUEUE_COLUMNS.join(", ")} (as \`whp review-queue labels\` writes it); nothing was changed`);
  const verdictColumn = header.indexOf("verdict") + 1;
  const seen = new Map<string, number>();
  const rows = records.slice(1).map(({ record, info }) => {
    const cells = Object.fromEntries(header.map((h, i) => [h, record[i] ?? ""]));
    const line = info.lines;
    const verdict = cells.verdict.trim().toLowerCase();
    if (verdict && !(VERDICTS as readonly string[]).includes(verdict)) {
      throw new UserError(`${file}, line ${line}, column ${verdictColumn} (verdict): unknown verdict "${cells.verdict}"`, `write one of ${VERDICTS.join(", ")}, or leave it empty; nothing was changed`);
    }
    const first = seen.get(cells.id);
    if (first !== undefined) throw new UserError(`${file}, line ${line}: id "${cells.id}" appears twice (first on line ${first})`, "keep one row per position; nothing was changed");
    seen.set(cells.id, line);
    return { line, cells };
  });
  return { header: records[0].record.map((h) => h.trim()), rows };
}

export const verdictOf = (cells: Record<string, string>): Verdict | "" => cells.verdict?.trim().toLowerCase() as Verdict | "";

/** A row holds reviewer work when any human column is filled in. */
const touched = (cells: Record<string, string>) => HUMAN_COLUMNS.some((c) => (cells[c] ?? "").trim() !== "");

export interface MergeReport {
  queued: number;
  /** Queued rows that kept a verdict or note. */
  keptVerdicts: number;
  /** Rows no longer queued, kept for their verdict or note. */
  keptOutside: number;
  /** Untouched rows no longer queued, dropped. */
  dropped: number;
}

/** The new file text: the queue in order, then the kept rows outside it. */
export function mergeQueue(existing: ExistingQueue | undefined, queue: readonly QueueCells[]): { text: string; report: MergeReport } {
  const lowerExisting = existing ? existing.header.map((h) => h.toLowerCase()) : [];
  const extra = existing ? existing.header.filter((_, i) => !(QUEUE_COLUMNS as readonly string[]).includes(lowerExisting[i])) : [];
  const header = [...QUEUE_COLUMNS, ...extra];
  const keys = [...QUEUE_COLUMNS, ...extra.map((h) => h.toLowerCase())];
  const byId = new Map((existing?.rows ?? []).map((r) => [r.cells.id, r]));
  const report: MergeReport = { queued: queue.length, keptVerdicts: 0, keptOutside: 0, dropped: 0 };
  const out: string[][] = [];
  const queuedIds = new Set<string>();
  for (const cells of queue) {
    queuedIds.add(cells.id);
    const old = byId.get(cells.id);
    const row: Record<string, string> = { ...(old?.cells ?? {}), ...cells };
    for (const c of HUMAN_COLUMNS) row[c] = old?.cells[c] ?? "";
    if (old && touched(old.cells)) {
      report.keptVerdicts++;
      // The reviewer judged another label: say so, keep the verdict.
      // Sticky: the flag stays until the reviewer clears the verdict.
      if (verdictOf(old.cells) && old.cells.status?.startsWith(LABEL_CHANGED)) row.status = old.cells.status;
      else if (verdictOf(old.cells) && old.cells.label_id !== undefined && old.cells.label_id !== cells.label_id) row.status = STATUS.labelChanged(old.cells.label || old.cells.label_id);
    }
    out.push(keys.map((k) => row[k] ?? ""));
  }
  for (const r of existing?.rows ?? []) {
    if (queuedIds.has(r.cells.id)) continue;
    if (!touched(r.cells)) {
      report.dropped++;
      continue;
    }
    report.keptOutside++;
    out.push(keys.map((k) => (k === "status" ? STATUS.kept : (r.cells[k] ?? ""))));
  }
  return { text: stringify([header, ...out]), report };
}
