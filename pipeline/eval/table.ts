/** The side-by-side comparison table (plain text), shared by `whp eval` and the demo. Pure. */
import type { Estimate } from "./stats.js";
import type { EvalScores } from "./runner.js";

export interface ScoredModel {
  model: string;
  scores: EvalScores;
}

export const COLUMNS: readonly { key: keyof EvalScores; title: string; digits: number; percent?: boolean; optional?: boolean }[] = [
  { key: "completionFamiliarity", title: "completion familiarity (judge)", digits: 3, optional: true },
  { key: "leakRate", title: "completion leak rate", digits: 1, percent: true },
  { key: "probabilityFamiliarity", title: "probability familiarity", digits: 4 },
  { key: "retainPerplexity", title: "retain perplexity", digits: 1 },
  { key: "relativePerplexity", title: "vs baseline", digits: 3 },
  { key: "neighbourPerplexity", title: "neighbour perplexity", digits: 1, optional: true },
  { key: "neighbourRelative", title: "nbr vs baseline", digits: 3, optional: true },
  // "-" for served models: a server lists only the top k of each distribution.
  { key: "restorationKL", title: "KL(oracle||model)", digits: 3 },
];

export function formatEstimate(e: Estimate | undefined, digits: number, percent = false): string {
  if (!e) return "-";
  const f = (x: number) => (percent ? `${(100 * x).toFixed(digits)}%` : x.toFixed(digits));
  return `${f(e.value)} [${f(e.ci[0])}, ${f(e.ci[1])}]`;
}

/** The columns to show: optional ones only when some model has them. */
export function shownColumns(rows: readonly ScoredModel[]): typeof COLUMNS {
  return COLUMNS.filter((c) => !c.optional || rows.some((r) => r.scores[c.key]));
}

export function formatTable(rows: readonly ScoredModel[]): string {
  const columns = shownColumns(rows);
  const header = ["model", ...columns.map((c) => c.title)];
  const body = rows.map((r) => [r.model, ...columns.map((c) => formatEstimate(r.scores[c.key], c.digits, c.percent))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const n = (k: keyof EvalScores) => rows.find((r) => r.scores[k])?.scores[k]?.n ?? 0;
  return [
    line(header),
    ...body.map(line),
    `(95% bootstrap intervals; n = ${n("leakRate")} prompts, ${n("retainPerplexity")} retain texts${n("restorationKL") ? `, ${n("restorationKL")} forget positions` : ""}${n("neighbourPerplexity") ? `, ${n("neighbourPerplexity")} neighbour texts` : ""}${n("completionFamiliarity") ? `, ${n("completionFamiliarity")} judged completions` : ""})`,
  ].join("\n");
}
