/**
 * The labels stage's scratch files, with the registry's schemas because the executor and `whp merge`
 * read them, not only the stage: a chunk file's row (the block's labels plus its uncertainty row, split
 * into labels.jsonl and labels-uncertainty.jsonl at assembly) and the shard record.
 *
 * checkBuiltLabelChunkRow is the same contract as labelChunkRowSchema, hand-written for the rows the
 * stage has just built (runner/chunked.ts `checkBuilt`): zod walked and copied every number of every
 * row (~3,000 per 512-token block), ~0.7 µs per position of the served stage's CPU with its garbage.
 * Leftovers from earlier runs or other machines are still parsed with the schema.
 * tests/label-chunks.test.ts holds the two to the same verdicts.
 */
import type { z } from "zod";
import { uncertaintyRowSchema, UNCERTAINTY_VERSION } from "../labels-review/uncertainty.js";
import { RUNNER_UPS } from "../core/combine.js";
import { labelRowSchema, labelsMetaSchema } from "./labels.js";
import { shardRecordBaseSchema } from "./shards.js";

export const labelChunkRowSchema = labelRowSchema.extend({ uncertainty: uncertaintyRowSchema });
export type LabelChunkRow = z.infer<typeof labelChunkRowSchema>;

export const labelsShardRecordSchema = shardRecordBaseSchema.extend({
  logitSpace: labelsMetaSchema.shape.logitSpace,
  models: labelsMetaSchema.shape.models,
});
export type LabelsShardRecord = z.infer<typeof labelsShardRecordSchema>;

/** The first element of `a` that `ok` refuses, as "<field>[i]: <what>", or undefined. */
function firstBad(field: string, a: unknown, ok: (x: unknown) => boolean, what: string): string | undefined {
  if (!Array.isArray(a)) return `${field}: expected an array`;
  for (let i = 0; i < a.length; i++) if (!ok(a[i])) return `${field}[${i}]: expected ${what}`;
  return undefined;
}

// zod 4's .int() is a safe integer; its z.number() refuses NaN and the infinities.
const isInt = (x: unknown) => Number.isSafeInteger(x);
const isIntAtLeast = (min: number) => (x: unknown) => Number.isSafeInteger(x) && (x as number) >= min;
const isProb = (x: unknown) => x === null || (typeof x === "number" && x >= 0 && x <= 1);
const isFiniteOrNull = (x: unknown) => x === null || Number.isFinite(x);
const isRunnerUps = (x: unknown) => Array.isArray(x) && x.length <= RUNNER_UPS && x.every(isIntAtLeast(0));

/** Why `row` does not match labelChunkRowSchema ("uncertainty.prob[3]: expected ..."), or undefined
 * when it does. Same verdicts as the schema; no copies, no allocation per number. */
export function checkBuiltLabelChunkRow(row: LabelChunkRow): string | undefined {
  const r = row as unknown as Record<string, unknown>;
  if (typeof r !== "object" || r === null) return "expected an object";
  if (typeof r.id !== "string") return "id: expected a string";
  if (!Array.isArray(r.labels)) return "labels: expected an array";
  for (let a = 0; a < r.labels.length; a++) {
    const bad = firstBad(`labels[${a}]`, r.labels[a], isInt, "an integer");
    if (bad) return bad;
  }
  const u = r.uncertainty as Record<string, unknown> | null | undefined;
  const problem =
    firstBad("uncertified", r.uncertified, isInt, "an integer") ??
    (typeof u !== "object" || u === null ? "uncertainty: expected an object" : undefined) ??
    (u!.version !== UNCERTAINTY_VERSION ? `uncertainty.version: expected ${UNCERTAINTY_VERSION}` : undefined) ??
    (typeof u!.id !== "string" ? "uncertainty.id: expected a string" : undefined) ??
    firstBad("uncertainty.positions", u!.positions, isIntAtLeast(1), "an integer >= 1") ??
    firstBad("uncertainty.labels", u!.labels, isIntAtLeast(0), "an integer >= 0") ??
    firstBad("uncertainty.prob", u!.prob, isProb, "a number in [0, 1] or null") ??
    firstBad("uncertainty.margin", u!.margin, isFiniteOrNull, "a finite number or null") ??
    firstBad("uncertainty.runnerUps", u!.runnerUps, isRunnerUps, `at most ${RUNNER_UPS} integers >= 0`);
  if (problem) return problem;
  const n = (u!.positions as unknown[]).length;
  if ([u!.labels, u!.prob, u!.margin, u!.runnerUps].some((a) => (a as unknown[]).length !== n)) return "uncertainty: positions, labels, prob, margin and runnerUps must have the same length";
  return undefined;
}
