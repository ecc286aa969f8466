/**
 * Edits to the review CSV, as pure text -> text functions. What the page may change: a row's
 * translations, category, notes and status, and a new row at the end. Everything else stays:
 * - untouched rows keep their exact original text (the merge's byte-for-byte rule), row order is
 *   kept, columns the page does not know stay with their values;
 * - an edit names the version of the row it was made on; if the row on disk is no longer that
 *   version (another tab, a hand edit) the edit is refused as a conflict and the current row is
 *   returned, so nothing anyone wrote is silently overwritten.
 */
import { stringify } from "csv-stringify/sync";
import type { ExistingRow, ReviewFile } from "../anchors/review-csv.js";
import { FORMULA_START } from "../core/csv-table.js";
import { CANDIDATE_SEPARATOR, STATUSES } from "../stages/dictionary.js";
import { headerKeys, readRows, rowVersion, toStoredRow, type StoredRow } from "./rows.js";

/** A request the page should not have sent (bad value) or must redo (conflict). `status` is the HTTP
 * status the server answers with. */
export class ReviewRequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
    readonly current?: StoredRow,
  ) {
    super(message);
  }
}

export interface RowChanges {
  translations?: string[];
  category?: string;
  notes?: string;
  status?: string;
}

export interface RowEdit {
  term: string;
  /** The row's version as the page last read it. */
  base: string;
  changes: RowChanges;
}

export interface Conflict {
  term: string;
  message: string;
  /** The row as it is on disk now (absent when it was removed). */
  current?: StoredRow;
}

export interface NewTerm {
  term: string;
  translations: string[];
  category: string;
  notes?: string;
  status?: string;
}

function checkText(what: string, value: unknown, opts: { required: boolean; candidate?: boolean }): string {
  if (typeof value !== "string") throw new ReviewRequestError(400, `${what} must be text`);
  const v = value.trim();
  if (opts.required && !v) throw new ReviewRequestError(400, `${what} is empty`);
  if (FORMULA_START.test(v)) throw new ReviewRequestError(400, `${what} "${v}" starts with "${v[0]}", which a spreadsheet reads as a formula; start it with another character`);
  if (opts.candidate && v.includes(CANDIDATE_SEPARATOR)) throw new ReviewRequestError(400, `${what} "${v}" contains "${CANDIDATE_SEPARATOR}", which separates candidates; add it as two candidates`);
  if (opts.candidate && /[\r\n]/.test(v)) throw new ReviewRequestError(400, `${what} "${v}" spans lines`);
  return v;
}

function checkTranslations(term: string, list: unknown): string {
  if (!Array.isArray(list)) throw new ReviewRequestError(400, `translations of "${term}" must be a list`);
  const clean = [...new Set(list.map((c, i) => checkText(`candidate ${i + 1} of "${term}"`, c, { required: false, candidate: true })).filter(Boolean))];
  // The dictionary stage refuses a row without a translation, whatever its status.
  if (clean.length === 0) throw new ReviewRequestError(400, `"${term}" needs at least one candidate translation`);
  return clean.join(CANDIDATE_SEPARATOR);
}

function checkStatus(value: unknown): string {
  if (typeof value !== "string" || !(STATUSES as readonly string[]).includes(value)) throw new ReviewRequestError(400, `status must be one of ${STATUSES.join(", ")}`);
  return value;
}

/** The cells after an edit; only the columns named in `changes` differ. */
function changedCells(cells: Record<string, string>, term: string, ch: RowChanges): Record<string, string> {
  const next = { ...cells };
  if (ch.translations !== undefined) next.translations = checkTranslations(term, ch.translations);
  if (ch.category !== undefined) next.category = checkText(`category of "${term}"`, ch.category, { required: false });
  // Notes are free text, kept as typed apart from the formula rule.
  if (ch.notes !== undefined) next.notes = checkText(`notes of "${term}"`, ch.notes, { required: false }) === "" ? "" : (ch.notes as string).trim();
  if (ch.status !== undefined) next.status = checkStatus(ch.status);
  return next;
}

const csvLine = (keys: readonly string[], cells: Record<string, string>) => stringify([keys.map((k) => cells[k] ?? "")]).replace(/\r?\n$/, "");

/** Writes the file back: changed rows re-serialised, all others as they were; `status` appended as a
 * column when an edit needs it and the file has none, filled with "approved" for the rows that were
 * approved by having no column (in a file with the column, a blank status is pending). */
function serialise(review: ReviewFile, changed: ReadonlyMap<number, Record<string, string>>, appended: readonly Record<string, string>[], addStatus: boolean): string {
  const keys = headerKeys(review);
  const added = addStatus && !keys.includes("status") ? ["status"] : [];
  const allKeys = [...keys, ...added];
  const header = added.length === 0 && review.headerRaw !== undefined ? review.headerRaw : stringify([[...review.header, ...added]]).replace(/\r?\n$/, "");
  const lines = [header];
  review.rows.forEach((row, i) => {
    const next = changed.get(i);
    const implicit: Record<string, string> = added.length ? { status: "approved" } : {};
    if (next) lines.push(csvLine(allKeys, { ...implicit, ...next }));
    else lines.push(row.raw !== undefined && !added.length ? row.raw : csvLine(allKeys, { ...row.cells, ...implicit }));
  });
  for (const cells of appended) lines.push(csvLine(allKeys, cells));
  return (review.bom ? "\uFEFF" : "") + lines.join(review.eol) + review.eol;
}

/** Applies every edit whose base is current; the others come back as conflicts. A bad value refuses
 * the whole batch (nothing written) with a 400. `text` is undefined when nothing changed. `read` is
 * `text` already parsed (the server keeps it), never modified here. */
export function applyEdits(
  text: string,
  file: string,
  edits: readonly RowEdit[],
  read: ReturnType<typeof readRows> = readRows(text, file),
): { text?: string; applied: string[]; conflicts: Conflict[]; read?: ReturnType<typeof readRows> } {
  const { review, rows } = read;
  const keys = headerKeys(review);
  const changed = new Map<number, Record<string, string>>();
  const applied: string[] = [];
  const conflicts: Conflict[] = [];
  for (const edit of edits) {
    const found = rows.flatMap((r, i) => (r.term === edit.term ? [i] : []));
    if (found.length === 0) {
      conflicts.push({ term: edit.term, message: `"${edit.term}" is no longer in ${file} (removed by hand?); reload the page` });
      continue;
    }
    if (found.length > 1) {
      conflicts.push({ term: edit.term, message: `"${edit.term}" is in ${file} ${found.length} times (lines ${found.map((i) => rows[i].line).join(", ")}); merge them by hand first`, current: rows[found[0]] });
      continue;
    }
    const i = found[0];
    const cells = changed.get(i) ?? review.rows[i].cells;
    if (rowVersion(keys, review.rows[i].cells) !== edit.base || changed.has(i)) {
      conflicts.push({ term: edit.term, message: `"${edit.term}" changed on disk since this page read it (another tab or a hand edit); it was reloaded, redo the change if it is still needed`, current: rows[i] });
      continue;
    }
    changed.set(i, changedCells(cells, edit.term, edit.changes));
    applied.push(edit.term);
  }
  const needsStatus = edits.some((e) => e.changes.status !== undefined);
  // Compared over every cell, including a status the file has no column for yet.
  const same = (a: Record<string, string>, b: Record<string, string>) => [...new Set([...Object.keys(a), ...Object.keys(b)])].every((k) => (a[k] ?? "") === (b[k] ?? ""));
  const isNoOp = [...changed].every(([i, c]) => same(c, review.rows[i].cells));
  if (changed.size === 0 || isNoOp) return { applied, conflicts };
  return { text: serialise(review, changed, [], needsStatus), applied, conflicts, read: reread(review, rows, changed, needsStatus) };
}

/**
 * What readRows gives for the text serialise writes, without parsing it again (a 1,600-row file takes
 * tens of milliseconds to parse): the same rows with the changed ones replaced, when nothing moves.
 * Undefined when something might: a status column to add, or a line break in a changed row's cells
 * (the rows after it would end on other lines).
 */
function reread(review: ReviewFile, rows: readonly StoredRow[], changed: ReadonlyMap<number, Record<string, string>>, addStatus: boolean): ReturnType<typeof readRows> | undefined {
  const keys = headerKeys(review);
  if (addStatus && !keys.includes("status")) return undefined;
  const breaks = (cells: Record<string, string>) => Object.values(cells).some((v) => /[\r\n]/.test(v));
  for (const [i, cells] of changed) if (breaks(cells) || breaks(review.rows[i].cells)) return undefined;
  const nextRows = review.rows.slice();
  const nextStored = rows.slice();
  for (const [i, next] of changed) {
    // As the reader builds them: one cell per header key, the row's text as written.
    const cells = Object.fromEntries(keys.map((k) => [k, next[k] ?? ""]));
    const row: ExistingRow = { line: review.rows[i].line, cells, raw: csvLine(keys, cells) };
    nextRows[i] = row;
    nextStored[i] = toStoredRow(keys, row);
  }
  return { review: { ...review, rows: nextRows }, rows: nextStored };
}

/** Appends a term the extractor missed; refuses one already in the file. */
export function addTerm(text: string, file: string, t: NewTerm): string {
  const term = checkText("the term", t.term, { required: true, candidate: true });
  const { review, rows } = readRows(text, file);
  const existing = rows.find((r) => r.term === term);
  if (existing) throw new ReviewRequestError(409, `"${term}" is already in the dictionary (line ${existing.line}); edit that row instead`, existing);
  const cells: Record<string, string> = {
    term,
    translations: checkTranslations(term, t.translations),
    category: checkText(`category of "${term}"`, t.category ?? "", { required: false }),
    notes: checkText(`notes of "${term}"`, t.notes ?? "", { required: false }),
    // A term the reviewer typed still gets its translation looked at before it counts.
    status: checkStatus(t.status ?? "pending"),
  };
  return serialise(review, new Map(), [cells], true);
}
