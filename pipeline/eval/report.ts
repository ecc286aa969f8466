/**
 * The HTML report: one self-contained file (inline CSS, inline SVG, no scripts, no network) with the
 * side-by-side table, bar charts with their intervals and axes (perplexities as ratios to the baseline),
 * and a token-level view of sample blocks (original over label, a few lines each, the rest expandable).
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

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  // Rounded to the step's decimals so 0.30000000000000004 prints as 0.3.
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(digits)));
  return out;
}

export interface ChartSpec {
  title: string;
  key: keyof EvalScores;
  /** The axis caption: what the numbers are, with their unit. */
  unit: string;
  fmt: (x: number) => string;
  /** Ratio to the baseline: bars grow from 1.0 (marked), the axis spans the values, not 0. */
  relative?: boolean;
  /** Shown in each bar's hover text and label, e.g. the absolute perplexity behind a ratio. */
  detail?: (m: ScoredModel) => string | undefined;
}

/**
 * A horizontal bar chart of one score, one bar per model, with its 95% interval as a whisker and an
 * x axis with ticks and the unit. A relative score (a ratio to the baseline) is drawn from 1.0, which
 * is marked, over the range the values span: ratios of 0.96 and 1.04 would look alike on an axis from 0.
 */
export function barChart(spec: ChartSpec, models: readonly ScoredModel[]): string {
  const rows = models.filter((m) => m.scores[spec.key]).map((m) => ({ m, e: m.scores[spec.key] as Estimate }));
  const values = rows.flatMap((r) => [r.e.value, r.e.ci[0], r.e.ci[1]]).filter(Number.isFinite);
  let lo = spec.relative ? Math.min(1, ...values) : 0;
  let hi = Math.max(spec.relative ? 1 : 1e-12, ...values);
  if (spec.relative) {
    const pad = Math.max(0.005, (hi - lo) * 0.08);
    lo -= pad;
    hi += pad;
  }
  const ticks = niceTicks(lo, hi);
  lo = Math.min(lo, ticks[0]);
  hi = Math.max(hi, ticks[ticks.length - 1]);
  const W = 360;
  const left = 90;
  const rowH = 26;
  // A ratio chart names its 1.0 line above the bars, under the title.
  const top = spec.relative ? 42 : 28;
  const axisY = top + rows.length * rowH + 4;
  const H = axisY + 40;
  const x = (v: number) => left + (W * (Math.min(hi, Math.max(lo, v)) - lo)) / (hi - lo);
  const origin = x(spec.relative ? 1 : 0);
  const bars = rows
    .map((r, i) => {
      const y = top + i * rowH;
      const detail = spec.detail?.(r.m);
      const from = Math.min(origin, x(r.e.value));
      return [
        `<text x="${left - 6}" y="${y + 14}" text-anchor="end">${escapeHtml(r.m.model)}</text>`,
        `<rect x="${from.toFixed(1)}" y="${y + 2}" width="${Math.abs(x(r.e.value) - origin).toFixed(1)}" height="16" fill="${COLORS[r.m.model] ?? "#888"}"><title>${escapeHtml(`${r.m.model}: ${spec.fmt(r.e.value)} [${spec.fmt(r.e.ci[0])}, ${spec.fmt(r.e.ci[1])}], n = ${r.e.n}${detail ? `; ${detail}` : ""}`)}</title></rect>`,
        `<line class="whisker" x1="${x(r.e.ci[0]).toFixed(1)}" x2="${x(r.e.ci[1]).toFixed(1)}" y1="${y + 10}" y2="${y + 10}" stroke="#222" stroke-width="1.5"/>`,
        `<text x="${(Math.max(x(r.e.ci[1]), x(r.e.value), spec.relative ? origin : 0) + 6).toFixed(1)}" y="${y + 14}">${escapeHtml(spec.fmt(r.e.value))}${detail ? ` <tspan class="detail">(${escapeHtml(detail)})</tspan>` : ""}</text>`,
      ].join("");
    })
    .join("\n");
  const axis = [
    `<g class="axis" data-unit="${escapeHtml(spec.unit)}"><line x1="${left}" x2="${left + W}" y1="${axisY}" y2="${axisY}" stroke="#555"/>`,
    ...ticks.map((t) => `<g class="tick"><line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${axisY}" y2="${axisY + 5}" stroke="#555"/><text x="${x(t).toFixed(1)}" y="${axisY + 17}" text-anchor="middle">${escapeHtml(spec.fmt(t))}</text></g>`),
    `<text class="unit" x="${left + W / 2}" y="${axisY + 33}" text-anchor="middle">${escapeHtml(spec.unit)}</text></g>`,
  ].join("");
  const reference = spec.relative
    ? `<g class="reference"><line x1="${origin.toFixed(1)}" x2="${origin.toFixed(1)}" y1="${top - 4}" y2="${axisY}" stroke="#333" stroke-dasharray="4 3"/><text x="${(origin + 4).toFixed(1)}" y="${top - 6}">baseline = 1.0</text></g>`
    : "";
  return `<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" data-score="${spec.key}" width="${left + W + 130}" height="${H}" role="img" aria-label="${escapeHtml(spec.title)}">
<text x="0" y="16" class="chart-title">${escapeHtml(spec.title)}</text>
${reference}
${bars}
${axis}
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

/** Tokens shown before "show all": a few lines of text. */
const PREVIEW_TOKENS = 48;

/** One token as a column: the original on top, below it the label it is trained on where that differs. */
function tokenCell(b: ReportBlock, p: number): string {
  const tok = shown(b.tokens[p]);
  const label = b.labels[p];
  const cell = (cls: string, title: string, under: string) => `<span class="tok${cls}"${title ? ` title="${escapeHtml(title)}"` : ""}><span class="orig">${escapeHtml(tok)}</span><span class="label">${escapeHtml(under)}</span></span>`;
  if (p === 0) return cell(" special", "start of the block", "");
  if (label === null) return cell(" masked", "masked: not trained", "");
  if (b.labelIds[p] !== b.ids[p]) return cell(" changed", `trained on ${JSON.stringify(shown(label))} instead of ${JSON.stringify(tok)}`, shown(label));
  return cell("", "", "");
}

/** A block's tokens: the first few lines, and the rest behind "show all" (no script: a details element). */
function tokenView(b: ReportBlock, maxTokens: number): string {
  const n = Math.min(b.tokens.length, maxTokens);
  const cells = Array.from({ length: n }, (_, p) => tokenCell(b, p));
  const changed = Array.from({ length: n }, (_, p) => p > 0 && b.labels[p] !== null && b.labelIds[p] !== b.ids[p]).filter(Boolean).length;
  const cut = b.tokens.length > maxTokens ? `<span class="more"> ... (${b.tokens.length - maxTokens} more tokens not shown)</span>` : "";
  const head = `<h3>${escapeHtml(b.id)} <span class="count">${changed} of ${n} tokens relabelled</span></h3>`;
  if (n <= PREVIEW_TOKENS) return `<section class="block">${head}<div class="tokens">${cells.join("")}${cut}</div></section>`;
  return `<section class="block">${head}<div class="tokens">${cells.slice(0, PREVIEW_TOKENS).join("")}</div><details><summary>show all ${n} tokens</summary><div class="tokens">${cells.slice(PREVIEW_TOKENS).join("")}${cut}</div></details></section>`;
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3}.note{color:#666;font-size:12px}.charts{display:flex;flex-wrap:wrap;gap:1.5em}
.chart{margin:0}.chart-title{font-weight:600}svg text{font-size:12px;font-family:system-ui,sans-serif}
svg .tick text,svg .detail{fill:#555;font-size:11px}svg .unit{fill:#333;font-size:11px;font-style:italic}
.tokens{font-family:ui-monospace,monospace;font-size:14px;line-height:1.3;border:1px solid #ddd;padding:8px;display:flex;flex-wrap:wrap;row-gap:6px}
.tok{display:inline-flex;flex-direction:column;align-items:flex-start;padding:1px 0;border-radius:3px;white-space:pre}
.tok .label{font-size:12px;min-height:1.2em;color:#a0213a}
.tok.changed{background:#fff1c2}
.tok.masked{color:#999;background:#efefef}.tok.special{color:#999}
.block h3{font-size:1em;margin:1em 0 0.3em}.block .count{font-weight:normal;color:#666;font-size:0.9em}
details summary{cursor:pointer;color:#2a5db0;margin:0.3em 0}
.legend{display:flex;flex-wrap:wrap;gap:1.2em;align-items:center}.legend .tok{margin-right:0.4em;vertical-align:middle}`;

export function renderReport(input: ReportInput): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const judged = input.models.some((m) => m.scores.completionFamiliarity);
  const ppl = (key: "retainPerplexity" | "neighbourPerplexity") => (m: ScoredModel) => (m.scores[key] ? `perplexity ${m.scores[key]!.value.toFixed(1)}` : undefined);
  const ratio = (x: number) => `${x.toFixed(3)}\u00d7`;
  const specs: ChartSpec[] = [
    ...(judged ? [{ title: "Completion familiarity, judge LLM (lower = forgot)", key: "completionFamiliarity" as const, unit: "judge score, (5 \u00b7 n3 + n2) / N", fmt: (x: number) => x.toFixed(2) }] : []),
    { title: "Probability familiarity (lower = forgot)", key: "probabilityFamiliarity", unit: "next-token probability of the tagged tokens (mean over prompts)", fmt: (x) => x.toFixed(2) },
    { title: "Completion leak rate (lower = forgot)", key: "leakRate", unit: "% of continuations naming a dictionary term the prompt did not", fmt: pct },
    // Perplexities differ by a few percent between models: the paired ratio to the baseline shows it.
    ...(input.models.some((m) => m.scores.relativePerplexity)
      ? [{ title: "Retain perplexity vs baseline (utility; lower = better)", key: "relativePerplexity" as const, unit: "ratio to the baseline's perplexity on the same texts", fmt: ratio, relative: true, detail: ppl("retainPerplexity") }]
      : [{ title: "Retain perplexity (utility; lower = better)", key: "retainPerplexity" as const, unit: "perplexity (exp of mean negative log-likelihood per token)", fmt: (x: number) => x.toFixed(0) }]),
    ...(input.models.some((m) => m.scores.neighbourRelative)
      ? [{ title: "Neighbour perplexity vs baseline (close in vocabulary, not forget text)", key: "neighbourRelative" as const, unit: "ratio to the baseline's perplexity on the same texts", fmt: ratio, relative: true, detail: ppl("neighbourPerplexity") }]
      : [{ title: "Neighbour perplexity (close in vocabulary, not forget text; lower = better)", key: "neighbourPerplexity" as const, unit: "perplexity (exp of mean negative log-likelihood per token)", fmt: (x: number) => x.toFixed(0) }]),
    { title: "KL(oracle || model) on forget text (lower = closer to never-trained)", key: "restorationKL", unit: "nats per token (mean over forget positions)", fmt: (x) => x.toFixed(2) },
  ];
  const charts = specs.filter((c) => input.models.some((m) => m.scores[c.key])).map((c) => barChart(c, input.models)).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>whp report: ${escapeHtml(input.run)}</title>
<style>${CSS}</style></head>
<body>
<h1>whp evaluation report: ${escapeHtml(input.run)}</h1>
<h2>Scores side by side</h2>
${scoresTable(input.models)}
<h2>Charts</h2>
<p class="legend" id="chart-legend"><span>bar: the estimate</span><span>black line: its 95% bootstrap interval</span><span>dashed line: the baseline (ratio 1.0)</span><span>hover a bar for n and the interval</span></p>
<div class="charts">
${charts}
</div>
<h2>Sample blocks</h2>
<p class="legend" id="token-legend"><span><span class="tok changed"><span class="orig">Harry</span><span class="label">Jon</span></span>relabelled: the original token above, the generic label it is trained on below</span>
<span><span class="tok masked"><span class="orig">token</span><span class="label"></span></span>masked (not trained)</span> <span><span class="tok"><span class="orig">token</span><span class="label"></span></span>trained on itself</span> <span>hover a token for its label; each block shows its first ${PREVIEW_TOKENS} tokens, "show all" the rest</span></p>
${input.blocks.map((b) => tokenView(b, input.maxTokens)).join("\n")}
</body></html>
`;
}
