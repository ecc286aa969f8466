/**
 * The human-review queues of issue #8 as extra tabs of the review page: what each queue file is, how
 * its rows are keyed and shown, and which values the page may write. Pure: text and values in and out.
 *
 * The page may write only what the queue's own reader accepts: verdicts from labels-review's VERDICTS
 * (a replace needs a replacement), human scores 0-3 or empty; and every edited file is read back with
 * that reader (readQueueFile, parseAuditCsv) before it is written, so `whp labels --apply-review` and
 * `whp eval --audit` never refuse what the page wrote. One check is left to --apply-review: whether a
 * replacement is exactly one token of the run's tokenizer (the page has no tokenizer).
 */
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { QUEUE_COLUMNS, readQueueFile } from "../labels-review/csv.js";
import { VERDICTS } from "../labels-review/review-file.js";
import { AUDIT_COLUMNS, parseAuditCsv } from "../eval/judge-audit.js";
import { rowVersion } from "./rows.js";
import { ReviewRequestError } from "./store.js";
import { FORMULA_START, readTable, safeCell, unsafeCell, type QueueTable, type TableRow } from "../core/csv-table.js";

export const QUEUE_KINDS = ["labels", "judge"] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

export interface QueueInfo {
  title: string;
  /** Where the writer puts it, relative to the run folder (the writers' defaults). */
  relPath: string;
  writtenBy: string;
  /** The command that reads the reviewed file. */
  nextStep: (file: string) => string;
  /** The writer's columns (others, a reviewer's own, are shown aside and kept), and those the page edits. */
  columns: readonly string[];
  editable: readonly string[];
  keyOf: (cells: Record<string, string>) => string;
  /** The queue's own reader: throws UserError for a file it would refuse. */
  validate: (text: string, file: string) => void;
  view: (cells: Record<string, string>) => Record<string, unknown>;
}

const split = (cell: string | undefined) => (cell ? unsafeCell(cell).split(" | ") : []).filter((x) => x !== "");
const shown = (cell: string | undefined) => unsafeCell(cell ?? "");

export const QUEUES: Record<QueueKind, QueueInfo> = {
  labels: {
    title: "Uncertain labels",
    relPath: join("review", "labels-queue.csv"), // DEFAULT_QUEUE_FILE of commands/review-queue-labels.ts
    writtenBy: "whp review-queue labels",
    columns: QUEUE_COLUMNS,
    nextStep: (file) => `whp labels --apply-review ${file} && whp export`,
    editable: ["verdict", "replacement", "notes"],
    // readQueueFile refuses a repeated id, so an id names one row.
    keyOf: (c) => c.id ?? "",
    validate: (text, file) => void readQueueFile(text, file),
    view: (c) => ({
      id: c.id ?? "",
      block: shown(c.block),
      position: c.position ?? "",
      status: c.status ?? "",
      original: shown(c.original_context),
      translated: shown(c.translated_context),
      label: shown(c.label),
      labelId: c.label_id ?? "",
      runnerUps: split(c.runner_ups),
      baselineProb: c.baseline_prob ?? "",
      margin: c.margin ?? "",
      verdict: (c.verdict ?? "").trim().toLowerCase(),
      replacement: unsafeCell(c.replacement ?? ""),
      notes: c.notes ?? "",
    }),
  },
  judge: {
    title: "Judge audit",
    relPath: join("review", "judge-audit.csv"), // writeJudgeQueue's default in eval/judge-audit.ts
    writtenBy: "whp review-queue judge",
    columns: AUDIT_COLUMNS,
    nextStep: (file) => `whp eval --audit ${file}`,
    editable: ["human_score", "notes"],
    // parseAuditCsv keys rows by trimmed model + id and refuses a repeated pair.
    keyOf: (c) => JSON.stringify([(c.model ?? "").trim(), (c.id ?? "").trim()]),
    validate: (text, file) => void parseAuditCsv(text, file),
    view: (c) => ({
      id: (c.id ?? "").trim(),
      model: (c.model ?? "").trim(),
      subtlety: c.subtlety ?? "",
      prompt: shown(c.prompt),
      references: split(c.references),
      completion: shown(c.completion),
      judgeScore: (c.judge_score ?? "").trim(),
      humanScore: (c.human_score ?? "").trim(),
      notes: c.notes ?? "",
    }),
  },
};

export const isQueueKind = (k: string): k is QueueKind => (QUEUE_KINDS as readonly string[]).includes(k);

export interface QueueRowView {
  key: string;
  line: number;
  version: string;
  /** Columns the page does not know, shown read-only and kept on disk. */
  other: Record<string, string>;
  [field: string]: unknown;
}

export function rowView(kind: QueueKind, t: QueueTable, row: TableRow): QueueRowView {
  const known = new Set(QUEUES[kind].columns);
  const other = Object.fromEntries(t.keys.filter((k) => !known.has(k)).map((k) => [k, row.cells[k] ?? ""]));
  return { ...QUEUES[kind].view(row.cells), key: QUEUES[kind].keyOf(row.cells), line: row.line, version: rowVersion(t.keys, row.cells), other };
}

function checkNotes(value: unknown): string {
  if (typeof value !== "string") throw new ReviewRequestError(400, "notes must be text");
  const v = value.trim();
  if (FORMULA_START.test(v)) throw new ReviewRequestError(400, `notes "${v}" start with "${v[0]}", which a spreadsheet reads as a formula; start them with another character`);
  return v;
}

/** The cells after an edit, each value checked; throws ReviewRequestError(400) for a bad one. */
export function editCells(kind: QueueKind, cells: Record<string, string>, changes: Record<string, unknown>): Record<string, string> {
  const allowed = QUEUES[kind].editable;
  const unknown = Object.keys(changes ?? {}).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new ReviewRequestError(400, `the page may change only ${allowed.join(", ")} here, not ${unknown.join(", ")}`);
  const next = { ...cells };
  if (changes.notes !== undefined) next.notes = checkNotes(changes.notes);
  if (kind === "labels") {
    if (changes.verdict !== undefined) {
      const v = typeof changes.verdict === "string" ? changes.verdict.trim().toLowerCase() : null;
      if (v === null || (v !== "" && !(VERDICTS as readonly string[]).includes(v))) throw new ReviewRequestError(400, `verdict must be one of ${VERDICTS.join(", ")}, or empty`);
      next.verdict = v;
    }
    if (changes.replacement !== undefined) {
      if (typeof changes.replacement !== "string") throw new ReviewRequestError(400, "the replacement must be text");
      // Not trimmed: a token's leading space is part of it. safeCell: --apply-review undoes it (unsafeCell).
      next.replacement = safeCell(changes.replacement);
    }
    if (next.verdict?.trim().toLowerCase() === "replace" && unsafeCell(next.replacement ?? "") === "") {
      throw new ReviewRequestError(400, 'verdict "replace" needs the replacement token: click a runner-up or type one');
    }
  } else if (changes.human_score !== undefined) {
    const s = typeof changes.human_score === "number" ? String(changes.human_score) : changes.human_score;
    if (typeof s !== "string" || !/^[0-3]?$/.test(s.trim())) throw new ReviewRequestError(400, "the human score must be 0, 1, 2, 3 or empty");
    next.human_score = s.trim();
  }
  return next;
}

/** Reads the table and checks it with the queue's own reader (UserError if that would refuse it). */
export function checkedTable(kind: QueueKind, text: string, file: string): QueueTable {
  QUEUES[kind].validate(text, file);
  return readTable(text, file);
}

/** A file the page wrote must still pass the queue's reader; if not, the edit is refused (400). */
export function mustPass(kind: QueueKind, text: string, file: string): void {
  try {
    QUEUES[kind].validate(text, file);
  } catch (e) {
    if (e instanceof UserError) throw new ReviewRequestError(400, `refused: ${e.message}`);
    throw e;
  }
}
