/**
 * Reviewed labels: the verdicts a person gave in the uncertain-label queue, stored in the run as
 * labels-review.json (written by `whp labels --apply-review`), and applied by the labels stage as
 * overrides AFTER the combination. Pure: rows in, rows out.
 *
 * A verdict names a Hugging Face label position (block id + t, labels[t] is the target for
 * input_ids[t]) and applies to every alpha column alike (it is a human decision about the position,
 * not about alpha): accept keeps the label, replace sets it to one token id, mask sets it to -100.
 * The stage records, per changed position, the labels it replaced, so a later review can be applied
 * on top of the same combination without asking the models again (see `revertOverrides`).
 */
import { z } from "zod";
import type { AppliedReview, LabelRow, Override } from "../schemas/labels.js";

// Kept importable from here, where they were first defined; they live with the labels artifacts'
// schemas (schemas/labels.ts) because labels-meta.json embeds them.
export { appliedReviewSchema, overrideSchema, type AppliedReview, type Override } from "../schemas/labels.js";

export const VERDICTS = ["accept", "replace", "mask"] as const;
export type Verdict = (typeof VERDICTS)[number];
export const REVIEW_FILE_VERSION = 1;
export const IGNORE = -100;

export const reviewVerdictSchema = z
  .object({
    block: z.string(),
    position: z.number().int().min(1),
    verdict: z.enum(VERDICTS),
    /** replace only: the token id, and the text the reviewer wrote (for people reading the file). */
    token: z.number().int().min(0).optional(),
    text: z.string().optional(),
  })
  .refine((v) => (v.verdict === "replace") === (v.token !== undefined), { message: "a replace verdict needs a token id, and only a replace verdict has one" });
export type ReviewVerdict = z.infer<typeof reviewVerdictSchema>;

export const reviewFileSchema = z.object({
  version: z.literal(REVIEW_FILE_VERSION),
  verdicts: z.array(reviewVerdictSchema),
});
export type ReviewFile = z.infer<typeof reviewFileSchema>;

export interface ApplyResult {
  rows: LabelRow[];
  verdicts: Record<Verdict, number>;
  skipped: { block: string; position: number; reason: string }[];
  overrides: Override[];
}

/** Applies the verdicts to copies of the rows that change. `rows` hold the combination's labels. */
export function applyVerdicts(rows: readonly LabelRow[], verdicts: readonly ReviewVerdict[]): ApplyResult {
  const index = new Map(rows.map((r, i) => [r.id, i]));
  const out = [...rows];
  const copied = new Set<number>();
  const counts: Record<Verdict, number> = { accept: 0, replace: 0, mask: 0 };
  const skipped: ApplyResult["skipped"] = [];
  const overrides: Override[] = [];
  for (const v of verdicts) {
    const b = index.get(v.block);
    if (b === undefined) {
      skipped.push({ block: v.block, position: v.position, reason: "no such block in this run" });
      continue;
    }
    const main = rows[b].labels[0];
    if (v.position >= main.length) {
      skipped.push({ block: v.block, position: v.position, reason: `past the block's ${main.length} tokens` });
      continue;
    }
    // A position the method masks (anchor tokens, repeated anchors) stays masked: unmasking it would
    // train what the alignment rules out.
    if (main[v.position] < 0) {
      skipped.push({ block: v.block, position: v.position, reason: "the method masks this position" });
      continue;
    }
    counts[v.verdict]++;
    if (v.verdict === "accept") continue;
    if (!copied.has(b)) {
      out[b] = { ...rows[b], labels: rows[b].labels.map((l) => [...l]) };
      copied.add(b);
    }
    const labels = out[b].labels;
    const value = v.verdict === "mask" ? IGNORE : (v.token as number);
    overrides.push({ block: v.block, position: v.position, before: labels.map((l) => l[v.position]), after: value });
    for (const l of labels) l[v.position] = value;
  }
  return { rows: out, verdicts: counts, skipped, overrides };
}

/**
 * Undoes recorded overrides, giving back the combination's labels. Returns undefined when the rows do
 * not hold what the overrides left (the file was edited or comes from elsewhere): the caller then
 * recomputes instead of trusting it.
 */
export function revertOverrides(rows: readonly LabelRow[], applied: AppliedReview | undefined): LabelRow[] | undefined {
  if (!applied || applied.overrides.length === 0) return [...rows];
  const index = new Map(rows.map((r, i) => [r.id, i]));
  const out = [...rows];
  const copied = new Set<number>();
  // Last first, so two overrides of one position unwind in order.
  for (const o of [...applied.overrides].reverse()) {
    const b = index.get(o.block);
    if (b === undefined || o.before.length !== rows[b].labels.length || o.position >= rows[b].labels[0].length) return undefined;
    if (rows[b].labels.some((l) => l[o.position] !== o.after)) return undefined;
    if (!copied.has(b)) {
      out[b] = { ...rows[b], labels: rows[b].labels.map((l) => [...l]) };
      copied.add(b);
    }
    out[b].labels.forEach((l, a) => (l[o.position] = o.before[a]));
  }
  return out;
}
