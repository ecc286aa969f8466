/**
 * The HTML report: one self-contained file (inline CSS, inline SVG, no scripts, no network) with the
 * side-by-side table, bar charts with their intervals, and a token-level view of sample blocks.
 * Pure: data in, a string out.
 */
import type { EvalScores } from "./runner.js";
import type { Estimate } from "./stats.js";
import { formatEstimate, type ScoredModel, shownColumns } from "./table.js";

export interface ReportBlock {
  id: string;
  /** Token strings of input_ids, and the label of each position (null = masked / not trained). */
  tokens: string[];
  labels: (string | null)[];
  ids: readonly number[];
  labelIds: readonly number[];
}

export interface ReportInput {
  run: string;
  models: readonly ScoredModel[];
  blocks: readonly ReportBlock[];
  /** Tokens shown per block. */
  maxTokens: number;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

const COLORS: Record<string, string> = { baseline: "#4e79a7", reinforced: "#e15759", unlearned: "#59a14f", oracle: "#9c755f" };

/** A horizontal bar chart of one score, one bar per model, with its 95% interval as a whisker. */
export function barChart(title: string, models: readonly ScoredModel[], key: keyof EvalScores, fmt: (x: number) => string): string {
  const rows = models.filter((m) => m.scores[key]).map((m) => ({ model: m.model, e: m.scores[key] as Estimate }));
  const max = Math.max(1e-12, ...rows.map((r) => Math.max(r.e.value, r.e.ci[1])));
  const W = 360;
  const left = 90;
  const rowH = 26;
  const H = rows.length * rowH + 34;
  const x = (v: number) => left + (W * Math.max(0, v)) / max;
  const bars = rows
    .map((r, i) => {
      const y = 28 + i * rowH;
      return [
        `<text x="${left - 6}" y="${y + 14}" text-anchor="end">${escapeHtml(r.model)}</text>`,
        `<rect x="${left}" y="${y + 2}" width="${(x(r.e.value) - left).toFixed(1)}" height="16" fill="${COLORS[r.model] ?? "#888"}"><title>${escapeHtml(`${r.model}: ${fmt(r.e.value)} [${fmt(r.e.ci[0])}, ${fmt(r.e.ci[1])}], n = ${r.e.n}`)}</title></rect>`,
        `<line x1="${x(r.e.ci[0]).toFixed(1)}" x2="${x(r.e.ci[1]).toFixed(1)}" y1="${y + 10}" y2="${y + 10}" stroke="#222" stroke-width="1.5"/>`,
        `<text x="${(x(r.e.ci[1]) + 6).toFixed(1)}" y="${y + 14}">${escapeHtml(fmt(r.e.value))}</text>`,
      ].join("");
    })
    .join("\n");
  return `<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" data-score="${key}" width="${left + W + 90}" height="${H}" role="img" aria-label="${escapeHtml(title)}">
<text x="0" y="16" class="chart-title">${escapeHtml(title)}</text>
${bars}
</svg></figure>`;
}

function scoresTable(models: readonly ScoredModel[]): string {
  const COLUMNS = shownColumns(models);
  const head = `<tr><th>model</th>${COLUMNS.map((c) => `<th>${escapeHtml(c.title)}</th>`).join("")}</tr>`;
  const body = models
    .map((m) => `<tr><td>${escapeHtml(m.model)}</td>${COLUMNS.map((c) => `<td>${escapeHtml(formatEstimate(m.scores[c.key], c.digits, c.percent))}</td>`).join("")}</tr>`)
    .join("\n");
  const n = (k: keyof EvalScores) => models.find((m) => m.scores[k])?.scores[k]?.n ?? 0;
  return `<table id="scores"><thead>${head}</thead><tbody>
${body}
</tbody></table>
<p class="note">95% bootstrap intervals in brackets. n = ${n("leakRate")} prompts, ${n("retainPerplexity")} held-out retain texts, ${n("restorationKL")} forget-corpus positions${n("neighbourPerplexity") ? `, ${n("neighbourPerplexity")} neighbour texts (general blocks closest in vocabulary to the forget corpus)` : ""}.</p>`;
}

/** Token text for display: the word-start marker as a space, a newline byte as a visible return mark. */
const shown = (t: string) => (t === "<0x0A>" ? "↵" : t.startsWith("<0x") ? t : t.replace(/▁/g, " "));

function tokenView(b: ReportBlock, maxTokens: number): string {
  const spans: string[] = [];
  for (let p = 0; p < Math.min(b.tokens.length, maxTokens); p++) {
    const tok = shown(b.tokens[p]);
    const label = b.labels[p];
    if (p === 0) spans.push(`<span class="tok special">${escapeHtml(tok)}</span>`);
    else if (label === null) spans.push(`<span class="tok masked" title="masked: not trained">${escapeHtml(tok)}</span>`);
    else if (b.labelIds[p] !== b.ids[p]) spans.push(`<span class="tok changed" title="${escapeHtml(`trained on ${JSON.stringify(shown(label))} instead of ${JSON.stringify(tok)}`)}">${escapeHtml(tok)}<sub>${escapeHtml(shown(label))}</sub></span>`);
    else spans.push(`<span class="tok">${escapeHtml(tok)}</span>`);
  }
  const more = b.tokens.length > maxTokens ? `<span class="more"> ... (${b.tokens.length - maxTokens} more tokens)</span>` : "";
  return `<section class="block"><h3>${escapeHtml(b.id)}</h3><div class="tokens">${spans.join("")}${more}</div></section>`;
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3}.note{color:#666;font-size:12px}.charts{display:flex;flex-wrap:wrap;gap:1em}
.chart{margin:0}.chart-title{font-weight:600}svg text{font-size:12px;font-family:system-ui,sans-serif}
.tokens{font-family:ui-monospace,monospace;font-size:13px;line-height:2.2;white-space:pre-wrap;border:1px solid #ddd;padding:8px}
.tok{border-radius:2px}.tok.masked{color:#aaa;background:#eee}.tok.changed{background:#ffe08a}
.tok.changed sub{color:#b34;font-size:10px;margin-left:1px}.tok.special{color:#999}
.legend span{padding:0 4px;margin-right:1em}`;

export function renderReport(input: ReportInput): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const judged = input.models.some((m) => m.scores.completionFamiliarity);
  const charts = [
    ...(judged ? [barChart("Completion familiarity, judge LLM (lower = forgot)", input.models, "completionFamiliarity", (x) => x.toFixed(3))] : []),
    barChart("Probability familiarity (lower = forgot)", input.models, "probabilityFamiliarity", (x) => x.toFixed(4)),
    barChart("Completion leak rate (lower = forgot)", input.models, "leakRate", pct),
    barChart("Retain perplexity (utility; lower = better)", input.models, "retainPerplexity", (x) => x.toFixed(1)),
    ...(input.models.some((m) => m.scores.neighbourPerplexity) ? [barChart("Neighbour perplexity (close in vocabulary, not forget text; lower = better)", input.models, "neighbourPerplexity", (x) => x.toFixed(1))] : []),
    barChart("KL(oracle || model) on forget text (lower = closer to never-trained)", input.models, "restorationKL", (x) => x.toFixed(3)),
  ].join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>whp report: ${escapeHtml(input.run)}</title>
<style>${CSS}</style></head>
<body>
<h1>whp evaluation report: ${escapeHtml(input.run)}</h1>
<h2>Scores side by side</h2>
${scoresTable(input.models)}
<h2>Charts</h2>
<div class="charts">
${charts}
</div>
<h2>Sample blocks</h2>
<p class="legend"><span class="tok changed">token<sub>label</sub></span> trained on the generic label instead of the original token
<span class="tok masked">token</span> masked (not trained) <span class="tok">token</span> label = original token</p>
${input.blocks.map((b) => tokenView(b, input.maxTokens)).join("\n")}
</body></html>
`;
}
