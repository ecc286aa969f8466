/**
 * `whp review-queue labels`: the uncertain-label queue (issue #8, part 1), and the other half of the
 * loop, `applyReviewCsv`, which `whp labels --apply-review <csv>` runs (registered in serve.ts, where
 * the `labels` command's options live).
 *
 * The queue lists the labelled positions whose generic label the combination was least sure of (by
 * the margin in labels-uncertainty.jsonl, see pipeline/labels-review/), with context, the label and its
 * runner-ups; a reviewer writes accept / replace / mask. Applying stores the verdicts in the run
 * (labels-review.json) and re-runs the labels stage, which applies them after the combination
 * without asking the models again.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileExists, readJsonlAll, writeFileAtomic } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";
import type { ModelTokenizer } from "../io/tokenizer.js";
import { markedWindow } from "../labels-review/contexts.js";
import { safeCell } from "../core/csv-table.js";
import { type QueueCells, mergeQueue, readQueueFile, STATUS } from "../labels-review/csv.js";
import { DEFAULT_QUANTILE, DEFAULT_QUEUE_FILE, selectQueue, type QueueEntry } from "../labels-review/queue.js";
import { REVIEW_FILE_VERSION, type ReviewFile } from "../labels-review/review-file.js";
import { uncertaintyRowSchema } from "../labels-review/uncertainty.js";
import { type TokenResolution, verdictsFromQueue } from "../labels-review/verdicts.js";
import { runStage, type StageContext } from "../stage.js";
import { labelsStage } from "../stages/labels.js";
import { readArtifact, writeArtifact } from "../schemas/registry.js";

export { DEFAULT_QUEUE_FILE };

export interface LabelQueueOptions {
  quantile?: number;
  maxMargin?: number;
  out?: string;
  /** Tokens of context before the position (a third as many after it). */
  context?: number;
}

export interface LabelQueueResult {
  file: string;
  queued: number;
  total: number;
  threshold: number | null;
  keptVerdicts: number;
  keptOutside: number;
  dropped: number;
}

const figure = (x: number | null) => (x === null ? "" : String(x));

/** Writes (or refreshes) the queue CSV; keeps every verdict and note already in it. */
export async function writeLabelQueue(ctx: StageContext, opts: LabelQueueOptions = {}): Promise<LabelQueueResult> {
  const uncertaintyPath = ctx.path("labelsUncertainty");
  if (!(await fileExists(uncertaintyPath))) throw new UserError(`no ${uncertaintyPath}`, "run the labels stage first (`whp run` or `whp labels`)");
  const file = opts.out ?? join(ctx.config.runDir, DEFAULT_QUEUE_FILE);
  // Read and check the existing file first: a bad verdict stops us before any work.
  const existing = (await fileExists(file)) ? readQueueFile(await readFile(file, "utf8"), file) : undefined;
  const rows = await readJsonlAll(uncertaintyPath, uncertaintyRowSchema);
  const blocks = await readArtifact(ctx, "blocks");
  const aligned = await readArtifact(ctx, "aligned");
  if (rows.length !== blocks.length || rows.some((r, i) => r.id !== blocks[i].id || aligned[i]?.id !== r.id)) {
    throw new UserError(`${uncertaintyPath} does not match blocks.jsonl / aligned.jsonl`, "re-run the labels stage (`whp run`)");
  }
  const quantile = opts.quantile ?? (opts.maxMargin === undefined ? DEFAULT_QUANTILE : undefined);
  const selection = selectQueue(rows, { quantile, maxMargin: opts.maxMargin });
  const tok = await ctx.tokenizer();
  const before = opts.context ?? 12;
  const after = Math.max(1, Math.ceil(before / 3));
  const cells: QueueCells[] = [];
  for (const e of selection.entries) cells.push(await queueCells(tok, e, blocks[e.blockIndex].input_ids, aligned[e.blockIndex], before, after));
  const { text, report } = mergeQueue(existing, cells);
  await writeFileAtomic(file, text);
  return { ...report, file, queued: selection.entries.length, total: selection.total, threshold: selection.threshold };
}

async function queueCells(tok: ModelTokenizer, e: QueueEntry, inputIds: readonly number[], aligned: { map: number[]; translated_ids: number[] }, before: number, after: number): Promise<QueueCells> {
  // labels[t] was chosen at original position t - 1, compared with translated position map[t - 1],
  // whose next token (the one the baseline predicted) is translated_ids[map[t - 1] + 1].
  const j = aligned.map[e.position - 1];
  const [original, translated] = await Promise.all([markedWindow(tok, inputIds, e.position, before, after), j >= 0 ? markedWindow(tok, aligned.translated_ids, j + 1, before, after) : Promise.resolve("")]);
  return {
    id: safeCell(`${e.block}:${e.position}`),
    block: safeCell(e.block),
    position: String(e.position),
    status: STATUS.queued,
    original_context: safeCell(original),
    translated_context: safeCell(translated),
    label: safeCell(tok.tokenText(e.label)),
    label_id: String(e.label),
    runner_ups: safeCell(e.runnerUps.map((t) => tok.tokenText(t)).join(" | ")),
    baseline_prob: figure(e.prob),
    margin: figure(e.margin),
  };
}

/** Replacement text -> token: the tokenizer's encoding if it is one token, else an exact vocabulary
 * entry (so "▁Emma" copied from the label column works), else the token count. */
export function tokenResolver(tok: ModelTokenizer): (text: string) => Promise<TokenResolution> {
  let vocab: Map<string, number> | undefined;
  return async (text) => {
    const ids = await tok.encodeIds(text);
    if (ids.length === 1) return { id: ids[0] };
    if (!vocab) {
      vocab = new Map();
      for (let id = tok.info.vocabSize - 1; id >= 0; id--) vocab.set(tok.tokenText(id), id);
    }
    const exact = vocab.get(text);
    return exact !== undefined ? { id: exact } : { count: ids.length, pieces: ids.map((id) => tok.tokenText(id)) };
  };
}

/** `whp labels --apply-review <csv>`: checks the verdicts, stores them as labels-review.json and
 * re-runs the labels stage (which reuses the combination: no model is asked). */
export async function applyReviewCsv(ctx: StageContext, csvPath: string): Promise<{ verdicts: Record<string, number>; skipped: number; stored: string }> {
  if (!(await fileExists(csvPath))) throw new UserError(`review file not found: ${csvPath}`, "pass the CSV `whp review-queue labels` wrote (default <run>/review/labels-queue.csv)");
  const queue = readQueueFile(await readFile(csvPath, "utf8"), csvPath);
  for (const name of labelsStage.reads) if (!(await fileExists(ctx.path(name)))) throw new UserError(`--apply-review needs ${ctx.path(name)}`, "run the pipeline first (`whp run`)");
  const blocks = await readArtifact(ctx, "blocks");
  const index = new Map(blocks.map((b, i) => [b.id, { index: i, length: b.input_ids.length }]));
  const verdicts = await verdictsFromQueue(queue, csvPath, index, tokenResolver(await ctx.tokenizer()));
  const review: ReviewFile = { version: REVIEW_FILE_VERSION, verdicts };
  await writeArtifact(ctx, "labelsReview", review);
  await runStage(labelsStage, ctx);
  const meta = await readArtifact(ctx, "labelsMeta");
  return { verdicts: meta.review?.verdicts ?? { accept: 0, replace: 0, mask: 0 }, skipped: meta.review?.skipped ?? 0, stored: ctx.path("labelsReview") };
}
