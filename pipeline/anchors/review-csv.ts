/**
 * The review file (anchors/<name>.csv): what the tool proposes and what a human decided, in one
 * spreadsheet-friendly CSV that the dictionary stage reads. Pure text in, text out.
 *
 * The merge never loses a human decision:
 * - every existing row stays, in its order, with every column (known or not);
 * - a row a human touched (status approved/rejected, or translations that differ from the tool's last
 *   proposal) keeps its exact original text; at most empty cells are appended when new columns arrive;
 * - only an untouched pending row is refreshed (new candidates, stats);
 * - new terms are appended as pending; new candidates for a reviewed term are reported as conflicts.
 * Cells the tool writes never start with a formula character (= + - @), so a spreadsheet shows text.
 */
import { stringify } from "csv-stringify/sync";
import { FORMULA_START, readTable, safeCell } from "../core/csv-table.js";
import { UserError } from "../core/errors.js";
import { CANDIDATE_SEPARATOR, REQUIRED_COLUMNS } from "../stages/dictionary.js";

/** Columns the tool fills; the human-owned ones are REQUIRED_COLUMNS and status. */
export const TOOL_COLUMNS = ["proposed", "source", "occurrences", "blocks", "examples", "flags"] as const;
export const REVIEW_COLUMNS = [...REQUIRED_COLUMNS, "status", ...TOOL_COLUMNS] as const;

export interface ProposedRow {
  term: string;
  category: string;
  candidates: { text: string; count: number }[];
  source: string;
  occurrences?: number;
  blocks?: number;
  examples: string[];
  flags: string[];
}

export interface ExistingRow {
  line: number;
  cells: Record<string, string>;
  /** The row's original text, when it re-reads to the same cells (used to keep it byte for byte). */
  raw?: string;
}

export interface ReviewFile {
  header: string[];
  /** The header line's original text (kept when no column is added). */
  headerRaw?: string;
  rows: ExistingRow[];
  eol: string;
  /** The file began with a UTF-8 byte order mark (spreadsheets write one); it is written back. */
  bom: boolean;
}

export interface MergeReport {
  added: string[];
  refreshed: string[];
  kept: string[];
  conflicts: { term: string; line: number; newCandidates: string[] }[];
  unsafe: { term: string; reason: string }[];
  columnsAdded: string[];
}

/** Reads a review file keeping every column and, where possible, each row's exact text. */
export function readReviewFile(text: string, file: string): ReviewFile {
  const t = readTable(text, file, "fix the row named above before merging; the file was not changed");
  if (t.header.length === 0) return { header: [...REVIEW_COLUMNS], rows: [], eol: t.eol, bom: t.bom };
  const missing = REQUIRED_COLUMNS.filter((c) => !t.keys.includes(c));
  if (missing.length) throw new UserError(`${file} is missing column(s) ${missing.join(", ")}`, `the first row must name ${REQUIRED_COLUMNS.join(", ")}; the file was not changed`);
  // Rows are named by the line they end on, as the dictionary stage names them.
  const rows = t.rows.map((r) => ({ line: r.endLine, cells: r.cells, raw: r.raw }));
  return { header: t.header, headerRaw: t.headerRaw, rows, eol: t.eol, bom: t.bom };
}

export const formatProposed = (candidates: ProposedRow["candidates"]) => candidates.map((c) => `${c.text} (${c.count})`).join(CANDIDATE_SEPARATOR);
const proposedCandidates = (cell: string) => cell.split(CANDIDATE_SEPARATOR).map((c) => c.replace(/\s*\(\d+\)\s*$/, "").trim()).filter(Boolean);
const splitCandidates = (cell: string) => cell.split(CANDIDATE_SEPARATOR).map((c) => c.trim()).filter(Boolean);

/** A row nobody reviewed: pending (or no status) and translations exactly as the tool last proposed. */
export function isUntouched(cells: Record<string, string>): boolean {
  const status = (cells.status ?? "").trim().toLowerCase();
  if (status !== "pending") return false;
  if (!("proposed" in cells)) return false;
  return splitCandidates(cells.translations ?? "").join("\u0000") === proposedCandidates(cells.proposed ?? "").join("\u0000") && !(cells.notes ?? "").trim();
}


function toolCells(p: ProposedRow): Record<string, string> {
  return {
    proposed: safeCell(formatProposed(p.candidates)),
    source: safeCell(p.source),
    occurrences: p.occurrences === undefined ? "" : String(p.occurrences),
    blocks: p.blocks === undefined ? "" : String(p.blocks),
    examples: safeCell(p.examples.join(" || ")),
    flags: safeCell(p.flags.join("; ")),
  };
}

export function mergeReview(existing: ReviewFile | undefined, proposals: readonly ProposedRow[], opts: { newStatus: "pending" | "approved" } = { newStatus: "pending" }): { text: string; report: MergeReport } {
  const base: ReviewFile = existing ?? { header: [...REVIEW_COLUMNS], rows: [], eol: "\n", bom: false };
  const lowerHeader = base.header.map((h) => h.trim().toLowerCase());
  const columnsAdded = (["status", ...TOOL_COLUMNS] as string[]).filter((c) => !lowerHeader.includes(c));
  const header = [...base.header, ...columnsAdded];
  const keys = [...lowerHeader, ...columnsAdded];
  const report: MergeReport = { added: [], refreshed: [], kept: [], conflicts: [], unsafe: [], columnsAdded: existing ? columnsAdded : [] };
  const byTerm = new Map(proposals.map((p) => [p.term, p]));
  const seen = new Set<string>();
  const line = (cells: Record<string, string>) => stringify([keys.map((k) => cells[k] ?? "")]).replace(/\r?\n$/, "");
  const unsafeValue = (p: ProposedRow) => [p.term, ...p.candidates.map((c) => c.text)].find((v) => FORMULA_START.test(v));
  const headerLine = columnsAdded.length === 0 && base.headerRaw !== undefined ? base.headerRaw : stringify([header]).replace(/\r?\n$/, "");
  const out: string[] = [headerLine];

  for (const row of base.rows) {
    const term = (row.cells.term ?? "").trim();
    seen.add(term);
    const p = byTerm.get(term);
    if (p && isUntouched(row.cells) && unsafeValue(p) === undefined) {
      const cells = { ...row.cells, ...toolCells(p), translations: p.candidates.map((c) => c.text).join(CANDIDATE_SEPARATOR) };
      out.push(line(cells));
      report.refreshed.push(term);
      continue;
    }
    if (p) {
      const have = new Set(splitCandidates(row.cells.translations ?? ""));
      const fresh = p.candidates.map((c) => c.text).filter((c) => !have.has(c));
      const status = (row.cells.status ?? "").trim().toLowerCase();
      if (fresh.length && status !== "rejected") report.conflicts.push({ term, line: row.line, newCandidates: fresh });
      report.kept.push(term);
    }
    // A reviewed or foreign row: its own text, widened with empty cells for new columns, except a new
    // status column: a file without one approves every row, so they say "approved" (blank = pending).
    const widened = columnsAdded.map((c) => (c === "status" ? ",approved" : ",")).join("");
    out.push(row.raw !== undefined ? row.raw + widened : line({ ...row.cells, ...(columnsAdded.includes("status") ? { status: "approved" } : {}) }));
  }
  for (const p of [...proposals].sort((a, b) => (a.term < b.term ? -1 : a.term > b.term ? 1 : 0))) {
    if (seen.has(p.term)) continue;
    const unsafe = unsafeValue(p);
    if (unsafe !== undefined) {
      // Rewriting it would change the term the pipeline matches; leave it out and say so.
      report.unsafe.push({ term: p.term, reason: `"${unsafe}" starts with a spreadsheet formula character` });
      continue;
    }
    out.push(line({ term: p.term, translations: p.candidates.map((c) => c.text).join(CANDIDATE_SEPARATOR), category: safeCell(p.category), notes: opts.newStatus === "approved" ? "auto-approved (llm.autoApprove)" : "", status: opts.newStatus, ...toolCells(p) }));
    report.added.push(p.term);
  }
  return { text: (base.bom ? "\uFEFF" : "") + out.join(base.eol) + base.eol, report };
}
