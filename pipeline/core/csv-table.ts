/**
 * A CSV a person edits (the dictionary's review file, the review queues) as a table that is rewritten
 * in place. Pure: text in, text out. It requires no column: each file's own reader
 * (anchors/review-csv.ts, labels-review/csv.ts, eval/judge-audit.ts) checks the content.
 *
 * Writing back changes only the edited rows: every other row keeps its exact original text (when it
 * re-reads to the same cells), and the header line, byte order mark, line endings and the presence of
 * a final line break are kept, so a diff of the file shows the reviewer's edits and nothing else.
 */
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { UserError } from "./errors.js";

/** A cell starting with one of these is read as a formula by a spreadsheet. */
export const FORMULA_START = /^[=+\-@\t\r]/;

/** Tool-written text a spreadsheet would read as a formula gets a leading apostrophe. */
export function safeCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** Undoes `safeCell` on a value a reviewer copied from a tool-written cell. */
export function unsafeCell(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}

export interface TableRow {
  /** 1-based line where the row starts (a quoted cell may span lines). */
  line: number;
  /** 1-based line where it ends (what the dictionary stage reports). */
  endLine: number;
  cells: Record<string, string>;
  /** The row's original text, when it re-reads to the same cells. */
  raw?: string;
}

export interface QueueTable {
  header: string[];
  /** Lower-cased, trimmed column names: the keys of `cells`. */
  keys: string[];
  headerRaw?: string;
  rows: TableRow[];
  eol: string;
  bom: boolean;
  finalEol: boolean;
}

/** csv-parse's raw text carries stray line breaks at either end; keep it only if it re-reads exactly. */
function exactRaw(raw: string, record: string[]): string | undefined {
  const trimmed = raw.replace(/^[\r\n]+/, "").replace(/\r?\n?$/, "").replace(/\r$/, "");
  // Without quotes or line breaks a line reads as its comma-separated parts: no second parse needed
  // (one per row made reading a 1,600-row dictionary take 0.2 s).
  if (trimmed !== "" && !/["\r\n]/.test(trimmed)) {
    const cells = trimmed.split(",");
    return cells.length === record.length && cells.every((c, i) => c === record[i]) ? trimmed : undefined;
  }
  try {
    const again = parse(trimmed, { relax_column_count: true }) as string[][];
    return again.length === 1 && again[0].length === record.length && again[0].every((c, i) => c === record[i]) ? trimmed : undefined;
  } catch {
    return undefined;
  }
}

export function readTable(text: string, file: string, fix = "fix the row named above, then reload the page"): QueueTable {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const bom = text.startsWith("\uFEFF");
  let records: { record: string[]; raw: string; info: { lines: number } }[];
  try {
    records = parse(text, { raw: true, info: true, skip_empty_lines: true, bom: true, relax_column_count: false }) as unknown as typeof records;
  } catch (e) {
    throw new UserError(`${file} is not valid CSV: ${(e as Error).message}`, fix);
  }
  if (records.length === 0) return { header: [], keys: [], rows: [], eol, bom, finalEol: true };
  const header = records[0].record;
  const keys = header.map((h) => h.trim().toLowerCase());
  const rows = records.slice(1).map(({ record, raw, info }) => {
    const body = raw.replace(/^[\r\n]+/, "").replace(/\r?\n?$/, "").replace(/\r$/, "");
    return { line: info.lines - (body.match(/\n/g) ?? []).length, endLine: info.lines, cells: Object.fromEntries(keys.map((k, i) => [k, record[i] ?? ""])), raw: exactRaw(raw, record) };
  });
  return { header, keys, headerRaw: exactRaw(records[0].raw.replace(/^\uFEFF/, ""), header), rows, eol, bom, finalEol: /\n$/.test(text) };
}

/** One row as CSV text, cells in header order. */
const csvLine = (keys: readonly string[], cells: Record<string, string>) => stringify([keys.map((k) => cells[k] ?? "")]).replace(/\r?\n$/, "");

/** The table's text with the rows in `changed` (by index) replaced; every other byte as read. */
export function writeTable(t: QueueTable, changed: ReadonlyMap<number, Record<string, string>>): string {
  const lines = [t.headerRaw ?? csvLine(t.keys, Object.fromEntries(t.keys.map((k, i) => [k, t.header[i]])))];
  t.rows.forEach((row, i) => {
    const next = changed.get(i);
    lines.push(next ? csvLine(t.keys, next) : (row.raw ?? csvLine(t.keys, row.cells)));
  });
  return (t.bom ? "\uFEFF" : "") + lines.join(t.eol) + (t.finalEol ? t.eol : "");
}
