/**
 * The labels stage's post-step: apply the stored review (labels-review.json) to the combined labels
 * row by row as they are assembled, and, when only the review changed, reuse the previous run's labels
 * instead of asking the models again (the combination is identified by a key over everything that
 * shapes it; the review is not part of that key). Both stream: no step holds the labels file.
 */
import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { fileExists, fileSha256, readJson } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";
import { sha256 } from "../core/hash.js";
import type { Logger } from "../io/log.js";
import { ARTIFACTS, type StageContext } from "../stage.js";
import type { AppliedReview, LabelRow, labelsMetaSchema } from "../schemas/labels.js";
import { reviewFileSchema, reviewStep, revertStep } from "./review-file.js";

/** The stored review, or undefined when none was applied. */
export async function readStoredReview(ctx: StageContext): Promise<{ review: z.infer<typeof reviewFileSchema>; sha256: string } | undefined> {
  const path = ctx.path("labelsReview");
  if (!(await fileExists(path))) return undefined;
  const bytes = await readFile(path);
  const review = await readJson(path, reviewFileSchema, "labels review");
  return { review, sha256: sha256(bytes) };
}

/** The review applied per row while the labels stream past (`row`), then recorded (`finish`: what
 * labels-meta.json records, logging what was skipped). Without a stored review, rows pass unchanged. */
export interface StoredReviewStep {
  row(row: LabelRow): LabelRow;
  finish(): AppliedReview | undefined;
}

export async function storedReviewStep(ctx: StageContext): Promise<StoredReviewStep> {
  const stored = await readStoredReview(ctx);
  if (!stored) return { row: (r) => r, finish: () => undefined };
  const V = (await ctx.tokenizer()).info.vocabSize;
  const bad = stored.review.verdicts.findIndex((v) => v.token !== undefined && v.token >= V);
  if (bad >= 0) throw new UserError(`${ctx.path("labelsReview")}: verdicts.${bad} replaces with token ${stored.review.verdicts[bad].token}, outside the vocabulary (size ${V})`, "re-apply the reviewed CSV with `whp labels --apply-review <csv>`, which resolves replacements with the run's tokenizer");
  const step = reviewStep(stored.review.verdicts);
  return {
    row: (r) => step.row(r),
    finish() {
      const res = step.result();
      if (res.skipped.length) {
        const first = res.skipped.slice(0, 5).map((s) => `${s.block}:${s.position} (${s.reason})`).join(", ");
        ctx.log.warn(`labels: ${res.skipped.length} review verdict(s) not applied: ${first}${res.skipped.length > 5 ? ", ..." : ""}`);
      }
      const n = res.verdicts.accept + res.verdicts.replace + res.verdicts.mask;
      ctx.log.info(`labels: applied ${n} review verdict(s) from ${ARTIFACTS.labelsReview} (accept ${res.verdicts.accept}, replace ${res.verdicts.replace}, mask ${res.verdicts.mask})`);
      return { file: ARTIFACTS.labelsReview, sha256: stored.sha256, verdicts: res.verdicts, skipped: res.skipped.length, overrides: res.overrides };
    },
  };
}

type LabelsMeta = z.infer<typeof labelsMetaSchema>;

/**
 * The previous run's metadata when only the review changed since: same combination key, a different
 * review (so a forced re-run with nothing changed still recomputes), and the files exactly those it
 * wrote. Undefined otherwise: the stage then computes the labels.
 */
export async function previousCombination(ctx: StageContext, key: string): Promise<LabelsMeta | undefined> {
  for (const name of ["labels", "labelsMeta", "labelsUncertainty"] as const) if (!(await fileExists(ctx.path(name)))) return undefined;
  let meta;
  try {
    meta = await ctx.read("labelsMeta");
  } catch (e) {
    if (e instanceof UserError) return undefined;
    throw e;
  }
  if (meta.combination !== key || !meta.outputs) return undefined;
  const reviewPath = ctx.path("labelsReview");
  const current = (await fileExists(reviewPath)) ? sha256(await readFile(reviewPath)) : undefined;
  if (current === meta.review?.sha256) return undefined;
  if ((await fileSha256(ctx.path("labels"))) !== meta.outputs.labels || (await fileSha256(ctx.path("labelsUncertainty"))) !== meta.outputs.uncertainty) return undefined;
  return meta;
}

/**
 * The previous combination's rows, streamed from labels.jsonl with the recorded review undone row by
 * row. Throws NotTheCombination (after the rows it could give) when the file does not hold what the
 * recorded overrides left: the caller discards what it wrote and recomputes.
 */
export async function* previousCombinationRows(ctx: StageContext, meta: LabelsMeta, log: Logger): AsyncGenerator<LabelRow> {
  const revert = revertStep(meta.review);
  let intact = true;
  for await (const row of ctx.stream("labels")) {
    const back = revert.row(row);
    if (!back) {
      intact = false;
      break;
    }
    yield back;
  }
  if (!intact || !revert.complete()) {
    log.warn("labels: labels.jsonl does not hold the overrides labels-meta.json records; recomputing");
    throw new NotTheCombination();
  }
}

export class NotTheCombination extends Error {
  constructor() {
    super("labels.jsonl does not hold the recorded combination");
  }
}
