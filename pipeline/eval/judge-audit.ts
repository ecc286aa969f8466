/**
 * Judge audit (issue #8, part 3): a person re-scores a sample of the judge's 0-3 verdicts, and we
 * report how far the two agree and what the completion familiarity becomes with the human's scores.
 * - `whp review-queue judge` writes <run>/review/judge-audit.csv: a seeded sample stratified by judge
 *   score x subtlety band, so rare strata (a 3 on a subtle prompt) are seen, not only the common 0s;
 *   a re-run keeps every row a person filled in (keyed by model + id), verbatim.
 * - `whp eval --audit <file>` (auditReport) reads the filled file and reports n, exact agreement,
 *   Cohen's kappa, the confusion matrix, and the familiarity recomputed with human scores where given.
 * Pure parts (sampling, merging, parsing, computing) take and return values; I/O is at the bottom.
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { fileExists, readJson, readJsonlAll, writeFileAtomic, writeJsonAtomic } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";
import { deriveSeed, seededRandom } from "../core/hash.js";
import { safeCell } from "../core/csv-table.js";
import { agreementStats, formatKappa, type AgreementStats } from "./agreement.js";
import { aggregateFamiliarity, familiarityPromptSchema, type FamiliarityScore, type JudgeScore } from "./familiarity.js";
import { evalFiles, scoresSchema } from "./files.js";
import { DEFAULT_AUDIT_SIZE } from "./cli-defaults.js";

export const AUDIT_COLUMNS = ["id", "model", "subtlety", "prompt", "references", "completion", "judge_score", "human_score", "notes"] as const;
export const AUDIT_VERSION = 1;
export { DEFAULT_AUDIT_SIZE };

export interface JudgedItem {
  model: string;
  id: string;
  /** Absent for prompts imported without a grade. */
  subtlety?: number;
  prompt: string;
  references: readonly string[];
  completion: string;
  judgeScore: JudgeScore;
}

/** Subtlety 1-10 in three bands: obvious, middling, subtle; "ungraded" for a prompt without one. */
export const subtletyBand = (s: number | undefined) => (s === undefined ? "ungraded" : s <= 3 ? "1-3" : s <= 7 ? "4-7" : "8-10");
export const stratumOf = (it: Pick<JudgedItem, "judgeScore" | "subtlety">) => `score ${it.judgeScore}, subtlety ${subtletyBand(it.subtlety)}`;
const keyOf = (model: string, id: string) => `${model}\u0000${id}`;
const byKey = (a: { model: string; id: string }, b: { model: string; id: string }) => (keyOf(a.model, a.id) < keyOf(b.model, b.id) ? -1 : keyOf(a.model, a.id) > keyOf(b.model, b.id) ? 1 : 0);

function shuffle<T>(list: T[], seed: number): T[] {
  const rand = seededRandom(seed);
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

/**
 * Up to `size` items, spread evenly over the strata (round robin, so a stratum smaller than its share
 * gives the rest to the others). The strata take turns so that judge scores alternate (0, 1, 2, 3,
 * then each score's next band, bands in seeded order): a sample smaller than the number of strata
 * still sees every score, which kappa needs. Within a stratum the order is a seeded shuffle of the
 * items sorted by model and id, so the same items and seed give the same sample in any input order.
 */
export function sampleJudged(items: readonly JudgedItem[], size: number, seed: number): JudgedItem[] {
  const strata = new Map<string, JudgedItem[]>();
  for (const it of items) (strata.get(stratumOf(it)) ?? strata.set(stratumOf(it), []).get(stratumOf(it))!).push(it);
  const byScore = new Map<number, string[]>();
  for (const [k, list] of strata) (byScore.get(list[0].judgeScore) ?? byScore.set(list[0].judgeScore, []).get(list[0].judgeScore)!).push(k);
  const groups = [...byScore.entries()].sort((a, b) => a[0] - b[0]).map(([score, keys]) => shuffle(keys.sort(), deriveSeed(seed, "judge-audit:bands", score)));
  const order: string[] = [];
  for (let i = 0; groups.some((g) => g.length > i); i++) for (const g of groups) if (i < g.length) order.push(g[i]);
  const queues = order.map((k) => shuffle([...(strata.get(k) as JudgedItem[])].sort(byKey), deriveSeed(seed, "judge-audit", k)));
  const out: JudgedItem[] = [];
  for (let round = 0; out.length < size && queues.some((q) => q.length > round); round++) {
    for (const q of queues) if (round < q.length && out.length < size) out.push(q[round]);
  }
  return out.sort(byKey);
}

export interface AuditRow {
  /** Line of the file where the row starts. */
  line: number;
  model: string;
  id: string;
  completion: string;
  judgeScore: number | null;
  humanScore: number | null;
  notes: string;
  cells: Record<string, string>;
}

const SCORE = /^[0-3]$/;

/** Reads a filled audit file; every bad cell is reported at once, by file, line and column. */
export function parseAuditCsv(text: string, file: string): AuditRow[] {
  let records: { record: string[]; raw: string; info: { lines: number } }[];
  try {
    records = parse(text, { raw: true, info: true, skip_empty_lines: true, bom: true }) as unknown as typeof records;
  } catch (e) {
    throw new UserError(`${file} is not valid CSV: ${(e as Error).message}`, "fix the line named above (a spreadsheet's CSV export is fine)");
  }
  if (records.length === 0) throw new UserError(`${file} is empty`, "write it with `whp review-queue judge`");
  const header = records[0].record.map((h) => h.trim().toLowerCase());
  const missing = ["id", "model", "judge_score", "human_score"].filter((c) => !header.includes(c));
  if (missing.length) throw new UserError(`${file} is missing column(s) ${missing.join(", ")}`, `keep the header row written by \`whp review-queue judge\`: ${AUDIT_COLUMNS.join(",")}`);
  const errors: string[] = [];
  const seen = new Map<string, number>();
  const rows: AuditRow[] = [];
  for (const { record, raw, info } of records.slice(1)) {
    // info.lines is where the record ends; a completion may span lines.
    const line = info.lines - (raw.replace(/^[\r\n]+/, "").replace(/\r?\n$/, "").match(/\n/g) ?? []).length;
    const cells = Object.fromEntries(header.map((h, i) => [h, record[i] ?? ""]));
    const score = (column: string) => {
      const v = (cells[column] ?? "").trim();
      if (v === "") return null;
      if (SCORE.test(v)) return Number(v);
      errors.push(`${file}:${line}: column ${column}: expected 0, 1, 2, 3 or empty, got "${v}"`);
      return null;
    };
    const row: AuditRow = { line, model: cells.model.trim(), id: cells.id.trim(), completion: cells.completion ?? "", judgeScore: score("judge_score"), humanScore: score("human_score"), notes: cells.notes ?? "", cells };
    if (!row.id || !row.model) errors.push(`${file}:${line}: columns id and model must both be filled`);
    const k = keyOf(row.model, row.id);
    if (seen.has(k)) errors.push(`${file}:${line}: model "${row.model}" id "${row.id}" is already on line ${seen.get(k)}`);
    seen.set(k, line);
    rows.push(row);
  }
  if (errors.length) throw new UserError(`${file} has ${errors.length} problem(s):\n${errors.join("\n")}`, "enter a whole number 0-3 in human_score (or leave it empty), keep one row per model and id, then run again");
  return rows;
}

const isFilled = (r: AuditRow) => r.humanScore !== null || r.notes.trim() !== "";

/**
 * The audit file's text: the sample, where a row a person already filled in (human score or notes) is
 * kept verbatim, and after it every other filled row of the old file, in its order: none is dropped.
 */
export function mergeAuditRows(existing: readonly AuditRow[], sample: readonly JudgedItem[]): { text: string; kept: number; keptOutsideSample: number } {
  const filled = new Map(existing.filter(isFilled).map((r) => [keyOf(r.model, r.id), r]));
  // Columns a person added (a second rater, a category) stay, after ours.
  const extra = [...new Set(existing.flatMap((r) => Object.keys(r.cells)))].filter((c) => c && !(AUDIT_COLUMNS as readonly string[]).includes(c));
  const columns = [...AUDIT_COLUMNS, ...extra];
  const used = new Set<string>();
  const rows: string[][] = [];
  const verbatim = (r: AuditRow) => columns.map((c) => r.cells[c] ?? "");
  for (const it of sample) {
    const old = filled.get(keyOf(it.model, it.id));
    if (old) {
      used.add(keyOf(it.model, it.id));
      rows.push(verbatim(old));
    } else {
      rows.push([it.id, it.model, String(it.subtlety ?? ""), safeCell(it.prompt), safeCell(it.references.join(" | ")), safeCell(it.completion), String(it.judgeScore), "", "", ...extra.map(() => "")]);
    }
  }
  const outside = [...filled.entries()].filter(([k]) => !used.has(k)).map(([, r]) => r);
  for (const r of outside) rows.push(verbatim(r));
  return { text: stringify([columns, ...rows]), kept: filled.size, keptOutsideSample: outside.length };
}

export interface ModelJudgements {
  model: string;
  judgements: readonly { id: string; completion: string; score: number | null }[];
}

export interface AuditResult {
  rows: number;
  humanScored: number;
  agreement: AgreementStats;
  /** Human-scored rows whose model and id match no judged completion. */
  unmatched: number;
  familiarity: { model: string; judge: FamiliarityScore; withHuman: FamiliarityScore; replaced: number; changed: number; stale: number }[];
}

/** A spreadsheet may re-save line breaks or trailing spaces; the words are what the person read. */
const sameText = (a: string, b: string) => a.replace(/\s+/g, " ").trim() === b.replace(/\s+/g, " ").trim();

/** Agreement over rows with both scores, and each model's familiarity with human scores substituted
 * where a person scored the same completion the scores file holds (a re-judged one is "stale"). */
export function computeAudit(rows: readonly AuditRow[], models: readonly ModelJudgements[], subtlety: ReadonlyMap<string, number | undefined>, seed: number): AuditResult {
  const pairs = rows.filter((r) => r.judgeScore !== null && r.humanScore !== null).map((r) => [r.judgeScore as number, r.humanScore as number] as const);
  const human = new Map(rows.filter((r) => r.humanScore !== null).map((r) => [keyOf(r.model, r.id), r]));
  const matched = new Set<string>();
  const bootSeed = deriveSeed(seed, "eval:bootstrap", "familiarity"); // the seed `whp eval --judge` uses
  const familiarity = models.map(({ model, judgements }) => {
    let replaced = 0;
    let changed = 0;
    let stale = 0;
    const withHuman = judgements.map((j) => {
      const r = human.get(keyOf(model, j.id));
      if (!r) return j.score;
      matched.add(keyOf(model, j.id));
      if (!sameText(r.completion, safeCell(j.completion))) {
        stale++;
        return j.score;
      }
      replaced++;
      if (r.humanScore !== j.score) changed++;
      return r.humanScore;
    });
    const agg = (scores: (number | null)[]) => aggregateFamiliarity(judgements.map((j, i) => ({ subtlety: subtlety.get(j.id), score: scores[i] as JudgeScore | null })), bootSeed);
    return { model, judge: agg(judgements.map((j) => j.score)), withHuman: agg(withHuman), replaced, changed, stale };
  });
  return { rows: rows.length, humanScored: human.size, agreement: agreementStats(pairs), unmatched: [...human.keys()].filter((k) => !matched.has(k)).length, familiarity };
}

const pct = (x: number) => (Number.isNaN(x) ? "n/a" : `${(100 * x).toFixed(1)}%`);
const est = (f: FamiliarityScore) => `${f.score.value.toFixed(3)} [${f.score.ci[0].toFixed(3)}, ${f.score.ci[1].toFixed(3)}] (N ${f.score.n})`;

export function formatAudit(r: AuditResult, file: string): string {
  const a = r.agreement;
  const lines = [
    `judge audit ${file}: ${r.rows} rows, ${r.humanScored} scored by a person, ${a.n} scored by both`,
    `  exact agreement ${pct(a.exact)}, Cohen's kappa ${formatKappa(a.kappa, a.undefinedReason)}, quadratic-weighted kappa ${formatKappa(a.quadraticKappa)} (chance agreement ${pct(a.expected)})`,
    "  confusion (rows: judge 0-3, columns: human 0-3):",
    ...a.confusion.map((row, i) => `    judge ${i}: ${row.map((n) => String(n).padStart(4)).join("")}`),
  ];
  for (const f of r.familiarity) {
    lines.push(`  ${f.model}: completion familiarity, judge ${est(f.judge)} -> with human scores ${est(f.withHuman)}; ${f.replaced} score(s) replaced, ${f.changed} changed${f.stale ? `, ${f.stale} not used (the completion was re-judged since; re-run \`whp review-queue judge\`)` : ""}`);
  }
  if (r.unmatched) lines.push(`  ${r.unmatched} human-scored row(s) match no judged completion in the scores files (other model name, or prompts changed)`);
  if (r.familiarity.length === 0) lines.push("  no scores file with judgements for the file's models: familiarity not recomputed");
  return lines.join("\n");
}

// ---- I/O ----

async function judgedModels(runDir: string, only?: readonly string[]): Promise<ModelJudgements[]> {
  const files = evalFiles(runDir);
  const names = only ?? ((await fileExists(files.dir)) ? (await readdir(files.dir)).filter((f) => /^scores-.+\.json$/.test(f)).map((f) => f.slice(7, -5)).sort() : []);
  const out: ModelJudgements[] = [];
  for (const model of names) {
    if (!(await fileExists(files.scores(model)))) {
      if (only) throw new UserError(`--model ${model}: no scores file at ${files.scores(model)}`, `evaluate it first: \`whp eval --model ${model} --judge\``);
      continue;
    }
    const s = await readJson(files.scores(model), scoresSchema, "scores");
    if (s.familiarity?.judgements.length) out.push({ model: s.model, judgements: s.familiarity.judgements });
  }
  return out;
}

async function readPrompts(runDir: string) {
  const path = evalFiles(runDir).familiarity;
  if (!(await fileExists(path))) throw new UserError(`${path} does not exist`, "write completion prompts (`whp evalset --familiarity <file>` or `--generate <n>`), then run `whp eval --judge`");
  return readJsonlAll(path, familiarityPromptSchema);
}

export interface QueueOutcome {
  file: string;
  rows: number;
  sampled: number;
  judged: number;
  kept: number;
  keptOutsideSample: number;
  /** Judged completions whose prompt id is not in eval/familiarity.jsonl (prompts rewritten since). */
  unmatched: number;
  strata: Record<string, { judged: number; sampled: number }>;
}

/** `whp review-queue judge`: samples judged completions into the audit CSV (atomic; filled rows kept). */
export async function writeJudgeQueue(runDir: string, opts: { size: number; seed: number; out?: string; models?: readonly string[] }): Promise<QueueOutcome> {
  const models = await judgedModels(runDir, opts.models);
  if (models.length === 0) throw new UserError(`no scores file under ${evalFiles(runDir).dir} holds judged completions`, "run `whp eval --judge` first (with an llm: section configured for the judge)");
  const prompts = new Map((await readPrompts(runDir)).map((p) => [p.id, p]));
  const items: JudgedItem[] = [];
  let unmatched = 0;
  for (const m of models) {
    for (const j of m.judgements) {
      const p = prompts.get(j.id);
      if (!p) unmatched++;
      else if (j.score !== null) items.push({ model: m.model, id: j.id, subtlety: p.subtlety, prompt: p.prompt, references: p.references, completion: j.completion, judgeScore: j.score as JudgeScore });
    }
  }
  const sample = sampleJudged(items, opts.size, opts.seed);
  const file = opts.out ?? join(runDir, "review", "judge-audit.csv");
  const existing = (await fileExists(file)) ? parseAuditCsv(await readFile(file, "utf8"), file) : [];
  const merged = mergeAuditRows(existing, sample);
  await writeFileAtomic(file, merged.text);
  const strata: QueueOutcome["strata"] = {};
  for (const it of items) (strata[stratumOf(it)] ??= { judged: 0, sampled: 0 }).judged++;
  for (const it of sample) strata[stratumOf(it)].sampled++;
  return { file, rows: sample.length + merged.keptOutsideSample, sampled: sample.length, judged: items.length, kept: merged.kept, keptOutsideSample: merged.keptOutsideSample, unmatched, strata };
}

/**
 * `whp eval --audit <file>`: the printable report for a filled audit file; also writes
 * <run>/eval/audit.json. `seed` is the run's seed (config.seed), from which `whp eval --judge` derived
 * its bootstrap seed, so the judge-only familiarity printed here equals the one in the scores file.
 */
export async function auditReport(runDir: string, file: string, seed: number): Promise<string> {
  if (!(await fileExists(file))) throw new UserError(`audit file not found: ${file}`, "write one with `whp review-queue judge`, fill in human_score, then pass it to --audit");
  const rows = parseAuditCsv(await readFile(file, "utf8"), file);
  const wanted = new Set(rows.map((r) => r.model));
  const models = (await judgedModels(runDir)).filter((m) => wanted.has(m.model));
  const subtlety = new Map((await readPrompts(runDir)).map((p) => [p.id, p.subtlety]));
  const result = computeAudit(rows, models, subtlety, seed);
  await writeJsonAtomic(join(evalFiles(runDir).dir, "audit.json"), { format: "whp-judge-audit", version: AUDIT_VERSION, file: basename(file), ...result });
  return formatAudit(result, file);
}
