/** Stage `dictionary`: the reviewed anchors CSV -> the dictionary the translate stage uses. */
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { parse } from "csv-parse/sync";
import { UserError } from "../core/errors.js";
import { sha256 } from "../core/hash.js";
import { decodeCorpusBytes } from "../core/text.js";
import type { Stage, StageContext } from "../stage.js";
import { type Dictionary, type DictionaryFileEntry } from "../schemas/dictionary.js";
import { stageInfo } from "./catalog.js";

export const REQUIRED_COLUMNS = ["term", "translations", "category", "notes"] as const;
/** Review states. A CSV without a status column is taken as fully approved; in a CSV with one, a blank
 * cell is pending (only a row a person marked approved reaches the pipeline). */
export const STATUSES = ["approved", "pending", "rejected"] as const;
/** Candidates share one cell, separated by this character (spreadsheets keep it intact). */
export const CANDIDATE_SEPARATOR = "|";


export interface ParsedDictionary {
  entries: DictionaryFileEntry[];
  notApproved: { term: string; status: string; line: number }[];
  /** False: the file has no status column, so every row counts as approved. */
  hasStatusColumn: boolean;
  /** Rows whose status cell is blank: left out as pending. */
  blankStatus: { term: string; line: number }[];
  /** Approved rows whose candidate cell has an empty candidate (`Holland||`): the empty ones are dropped. */
  emptyCandidates: { term: string; line: number }[];
  /** Approved terms that differ from another approved term only in letter case (Holland / holland). */
  caseDuplicates: { term: string; other: string; line: number }[];
}

/** Parses and checks a dictionary CSV; every problem is reported at once, each with its line. */
export function parseDictionaryCsv(text: string, file: string): ParsedDictionary {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), info: true, skip_empty_lines: true, relax_column_count: false, trim: false });
  } catch (e) {
    throw new UserError(`${file} is not valid CSV: ${(e as Error).message}`, "fix the row named above (quote cells that contain commas)");
  }
  const header = records.length ? Object.keys(records[0].record) : (text.split("\n")[0] ?? "").split(",").map((c) => c.trim().toLowerCase());
  const missing = REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) {
    throw new UserError(
      `${file} is missing column(s) ${missing.map((m) => `"${m}"`).join(", ")} (found: ${header.map((h) => `"${h}"`).join(", ")})`,
      `the first row must name the columns ${REQUIRED_COLUMNS.join(", ")} (and optionally status)`,
    );
  }
  const problems: string[] = [];
  const firstLine = new Map<string, number>();
  const entries: ParsedDictionary["entries"] = [];
  const notApproved: ParsedDictionary["notApproved"] = [];
  const hasStatusColumn = header.includes("status");
  const blankStatus: ParsedDictionary["blankStatus"] = [];
  const emptyCandidates: ParsedDictionary["emptyCandidates"] = [];
  const caseDuplicates: ParsedDictionary["caseDuplicates"] = [];
  const byFolded = new Map<string, string>();
  for (const { record, info } of records) {
    const line = info.lines;
    const term = (record.term ?? "").trim();
    const cell = hasStatusColumn ? (record.status ?? "").trim().toLowerCase() : "approved";
    const status = cell || "pending";
    if (!term) {
      problems.push(`line ${line}: empty term`);
      continue;
    }
    if (firstLine.has(term)) {
      problems.push(`line ${line}: duplicate term "${term}" (first on line ${firstLine.get(term)}); merge the candidates into one row`);
      continue;
    }
    firstLine.set(term, line);
    if (!(STATUSES as readonly string[]).includes(status)) {
      problems.push(`line ${line}: status "${status}" for "${term}" is not one of ${STATUSES.join(", ")}`);
      continue;
    }
    const pieces = (record.translations ?? "").split(CANDIDATE_SEPARATOR).map((t) => t.trim());
    const translations = [...new Set(pieces.filter(Boolean))];
    if (translations.length === 0) {
      problems.push(`line ${line}: "${term}" has no translation; give at least one, several separated by "${CANDIDATE_SEPARATOR}"`);
      continue;
    }
    if (status !== "approved") {
      if (!cell) blankStatus.push({ term, line });
      notApproved.push({ term, status: cell ? status : "pending (blank status)", line });
      continue;
    }
    if (pieces.some((p) => !p)) emptyCandidates.push({ term, line });
    const folded = term.toLowerCase();
    const other = byFolded.get(folded);
    if (other !== undefined) caseDuplicates.push({ term, other, line });
    else byFolded.set(folded, term);
    entries.push({ term, translations, category: (record.category ?? "").trim() });
  }
  if (problems.length) throw new UserError(`${file} has ${problems.length} problem(s):\n  ${problems.join("\n  ")}`, "correct the rows listed; nothing was written");
  entries.sort((a, b) => (a.term < b.term ? -1 : a.term > b.term ? 1 : 0));
  return { entries, notApproved, hasStatusColumn, blankStatus, emptyCandidates, caseDuplicates };
}

export const dictionaryStage: Stage = {
  ...stageInfo("dictionary"),
  // 2: a blank status cell is pending, not approved.
  version: 2,
  async fingerprintInputs(config) {
    return { config: {}, files: [config.dictionary] };
  },
  async run(ctx: StageContext) {
    // Held whole, and written as one document: the CSV and the dictionary grow with the number of
    // terms (thousands at book scale), not with the corpus, and every problem is reported at once.
    const file = ctx.config.dictionary;
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch {
      throw new UserError(`dictionary not found: ${file}`, "set `dictionary:` in the config to your anchors CSV");
    }
    const decoded = decodeCorpusBytes(bytes);
    if (!decoded.ok) throw new UserError(`${file} ${decoded.problem}`, decoded.fix);
    const parsed = parseDictionaryCsv(decoded.text, file);
    if (parsed.entries.length === 0) throw new UserError(`${file} has no approved entries`, "approve at least one term (status column) or add rows");
    const dictionary: Dictionary = { version: 1, source: relative(ctx.config.baseDir, file), sha256: sha256(bytes), entries: parsed.entries };
    await ctx.write("dictionary", dictionary);
    for (const n of parsed.notApproved) ctx.log.info(`dictionary: "${n.term}" (line ${n.line}) is ${n.status}, not used`);
    return {
      terms: parsed.entries.length,
      candidates: parsed.entries.reduce((n, e) => n + e.translations.length, 0),
      notApproved: parsed.notApproved.length,
      // Read by the run summary, which warns about each (commands/pipeline-run.ts dictionaryWarnings).
      statusColumn: parsed.hasStatusColumn,
      blankStatus: parsed.blankStatus,
      emptyCandidates: parsed.emptyCandidates,
      caseDuplicates: parsed.caseDuplicates,
    };
  },
};
