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

/** What one verdict did to its row. */
type Outcome = { applied: Verdict; override?: Override } | { skipped: string };

/** One row's verdicts (in their order) applied to a copy of the row if any changes it. Pure. */
function applyRowVerdicts(row: LabelRow, verdicts: readonly ReviewVerdict[]): { row: LabelRow; outcomes: Outcome[] } {
  let out = row;
  const outcomes = verdicts.map((v): Outcome => {
    const main = row.labels[0];
    if (v.position >= main.length) return { skipped: `past the block's ${main.length} tokens` };
    // A position the method masks (anchor tokens, repeated anchors) stays masked: unmasking it would
    // train what the alignment rules out.
    if (main[v.position] < 0) return { skipped: "the method masks this position" };
    if (v.verdict === "accept") return { applied: "accept" };
    if (out === row) out = { ...row, labels: row.labels.map((l) => [...l]) };
    const value = v.verdict === "mask" ? IGNORE : (v.token as number);
    const override = { block: v.block, position: v.position, before: out.labels.map((l) => l[v.position]), after: value };
    for (const l of out.labels) l[v.position] = value;
    return { applied: v.verdict, override };
  });
  return { row: out, outcomes };
}

/**
 * The review as a per-row post-step, for a stage that streams its rows: `row` applies the verdicts
 * of that row's block (rows in, rows out, nothing kept but the outcomes), `result` tells, in the
 * verdicts' own order, what was applied and what skipped (a verdict whose block never came by names
 * no block of this run).
 */
export function reviewStep(verdicts: readonly ReviewVerdict[]): { row(row: LabelRow): LabelRow; result(): Omit<ApplyResult, "rows"> } {
  const byBlock = new Map<string, number[]>();
  verdicts.forEach((v, i) => byBlock.set(v.block, [...(byBlock.get(v.block) ?? []), i]));
  const outcomes: (Outcome | undefined)[] = new Array(verdicts.length);
  return {
    row(row) {
      const mine = byBlock.get(row.id);
      if (!mine) return row;
      const res = applyRowVerdicts(row, mine.map((i) => verdicts[i]));
      mine.forEach((i, k) => (outcomes[i] = res.outcomes[k]));
      return res.row;
    },
    result() {
      const counts: Record<Verdict, number> = { accept: 0, replace: 0, mask: 0 };
      const skipped: ApplyResult["skipped"] = [];
      const overrides: Override[] = [];
      verdicts.forEach((v, i) => {
        const o = outcomes[i] ?? { skipped: "no such block in this run" };
        if ("skipped" in o) skipped.push({ block: v.block, position: v.position, reason: o.skipped });
        else {
          counts[o.applied]++;
          if (o.override) overrides.push(o.override);
        }
      });
      return { verdicts: counts, skipped, overrides };
    },
  };
}

/** Applies the verdicts to copies of the rows that change. `rows` hold the combination's labels. */
export function applyVerdicts(rows: readonly LabelRow[], verdicts: readonly ReviewVerdict[]): ApplyResult {
  const step = reviewStep(verdicts);
  const out = rows.map((r) => step.row(r));
  return { rows: out, ...step.result() };
}

/**
 * Undoing recorded overrides row by row, giving back the combination's labels: `row` returns
 * undefined when the row does not hold what its overrides left (the file was edited or comes from
 * elsewhere), and `complete` says whether every overridden block came by. Either failing, the caller
 * recomputes instead of trusting the file.
 */
export function revertStep(applied: AppliedReview | undefined): { row(row: LabelRow): LabelRow | undefined; complete(): boolean } {
  const byBlock = new Map<string, Override[]>();
  for (const o of applied?.overrides ?? []) byBlock.set(o.block, [...(byBlock.get(o.block) ?? []), o]);
  const seen = new Set<string>();
  return {
    row(row) {
      const mine = byBlock.get(row.id);
      if (!mine) return row;
      seen.add(row.id);
      const out = { ...row, labels: row.labels.map((l) => [...l]) };
      // Last first, so two overrides of one position unwind in order.
      for (const o of [...mine].reverse()) {
        if (o.before.length !== out.labels.length || o.position >= out.labels[0].length) return undefined;
        if (out.labels.some((l) => l[o.position] !== o.after)) return undefined;
        out.labels.forEach((l, a) => (l[o.position] = o.before[a]));
      }
      return out;
    },
    complete: () => seen.size === byBlock.size,
  };
}

/** revertStep over a whole array of rows (undefined when any row, or a missing block, fails). */
export function revertOverrides(rows: readonly LabelRow[], applied: AppliedReview | undefined): LabelRow[] | undefined {
  const step = revertStep(applied);
  const out: LabelRow[] = [];
  for (const r of rows) {
    const back = step.row(r);
    if (!back) return undefined;
    out.push(back);
  }
  return step.complete() ? out : undefined;
}
