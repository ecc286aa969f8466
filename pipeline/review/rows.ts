/**
 * The review CSV as the page sees it: one view per row, each with a version the page sends back with
 * its edits. Pure: text in, views out.
 *
 * Rows are addressed by their term (the dictionary refuses duplicates, so a term names one row even
 * after a hand edit reorders the file). The version is a hash of every cell of the row, known columns
 * or not, so any change to the row on disk, by another tab or by hand, makes an older version stale.
 */
import { sha256 } from "../core/hash.js";
import { readReviewFile, type ExistingRow, type ReviewFile } from "../anchors/review-csv.js";
import { CANDIDATE_SEPARATOR, STATUSES } from "../stages/dictionary.js";

export type Status = (typeof STATUSES)[number];

/** The row as stored: what the page edits. Derived facts (counts, flags) are added by annotate.ts. */
export interface StoredRow {
  term: string;
  translations: string[];
  category: string;
  notes: string;
  /** Lower-cased; empty or missing reads as "approved", as the dictionary stage reads it. */
  status: string;
  /** Line of the row in the file (1-based, as `whp anchors check` reports it). */
  line: number;
  version: string;
  /** How the reviewer can sort by confidence: see confidenceOf. */
  confidence: number | null;
  /** Columns the page does not edit (kept untouched on disk), shown read-only. */
  other: Record<string, string>;
}

export const EDITABLE_COLUMNS = ["translations", "category", "notes", "status"] as const;

export const splitCandidates = (cell: string) => cell.split(CANDIDATE_SEPARATOR).map((c) => c.trim()).filter(Boolean);

/** The row's version: a short hash of its cells in header order. */
export function rowVersion(keys: readonly string[], cells: Record<string, string>): string {
  return sha256(JSON.stringify(keys.map((k) => cells[k] ?? ""))).slice(0, 16);
}

export const headerKeys = (file: ReviewFile) => file.header.map((h) => h.trim().toLowerCase());

/** As the dictionary stage reads it: no status column = approved; a blank cell in one = pending. */
export const normaliseStatus = (cell: string | undefined) => (cell === undefined ? "approved" : cell.trim().toLowerCase() || "pending");

/**
 * Confidence, for sorting: the CSV's own `confidence` column when it holds a number; otherwise the
 * support the consolidation recorded in `proposed` ("Emma (3)|Lucy (1)": how many answers proposed
 * the candidates, summed); otherwise null (the page then sorts by fewest flags). Higher = surer.
 */
export function confidenceOf(cells: Record<string, string>): number | null {
  const own = (cells.confidence ?? "").trim();
  if (own !== "" && Number.isFinite(Number(own))) return Number(own);
  const counts = [...(cells.proposed ?? "").matchAll(/\((\d+)\)\s*(?:\||$)/g)].map((m) => Number(m[1]));
  return counts.length ? counts.reduce((a, b) => a + b, 0) : null;
}

export function toStoredRow(keys: readonly string[], row: ExistingRow): StoredRow {
  const c = row.cells;
  const known = new Set<string>(["term", ...EDITABLE_COLUMNS]);
  return {
    term: (c.term ?? "").trim(),
    translations: splitCandidates(c.translations ?? ""),
    category: (c.category ?? "").trim(),
    notes: c.notes ?? "",
    status: normaliseStatus(c.status),
    line: row.line,
    version: rowVersion(keys, c),
    confidence: confidenceOf(c),
    other: Object.fromEntries(keys.filter((k) => !known.has(k)).map((k) => [k, c[k] ?? ""])),
  };
}

/** Reads the file's text into row views (throws UserError for text that is not a review CSV). */
export function readRows(text: string, file: string): { review: ReviewFile; rows: StoredRow[] } {
  const review = readReviewFile(text, file);
  const keys = headerKeys(review);
  return { review, rows: review.rows.map((r) => toStoredRow(keys, r)) };
}
