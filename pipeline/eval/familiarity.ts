/**
 * Completion familiarity (whp-method.md, "Evaluation"): prompts that invite a model to continue with
 * forget-set knowledge, a judge's 0-3 score per completion, and the aggregate (5 * n3 + n2) / N with a
 * per-subtlety breakdown. Pure: importing the authors' published prompt format, parsing judgements and
 * aggregating. (Generating prompts and judging with an LLM is not built yet.)
 */
import { z } from "zod";
import { describeIssues } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";
import { givenAwayReferences } from "./scores.js";
import { bootstrap, type Estimate } from "./stats.js";

export const familiarityPromptSchema = z.object({
  id: z.string(),
  prompt: z.string().min(1),
  references: z.array(z.string()),
  /** Absent in derived sets that do not grade prompts (then no per-subtlety breakdown). */
  subtlety: z.number().int().min(1).max(10).optional(),
  /** Passage the prompt was written from, or the imported file. */
  source: z.string(),
});
export type FamiliarityPrompt = z.infer<typeof familiarityPromptSchema>;

/** The authors' published format: a JSON list of {"prompt": {"prompt", "references", "subtlety"}};
 * derived sets of the same shape often leave `subtlety` out. */
const authorsFormatSchema = z.array(
  z.object({
    prompt: z.object({
      prompt: z.string().min(1),
      references: z.array(z.string()),
      subtlety: z.number().int().min(1).max(10).optional(),
    }),
  }),
);

/** A prompt listed twice (same text after whitespace normalisation): the first is kept; `differs`
 * names every field in which the dropped copy disagrees with it (empty for an exact repeat). */
export interface DuplicatePrompt {
  prompt: string;
  /** 0-based positions in the file of the kept entry and of the dropped one. */
  kept: number;
  dropped: number;
  differs: { field: "references" | "subtlety"; kept: unknown; dropped: unknown }[];
}

export interface ImportReport {
  prompts: FamiliarityPrompt[];
  duplicates: DuplicatePrompt[];
  /** Prompts without a subtlety grade (no per-subtlety breakdown for them). */
  withoutSubtlety: number;
  /** Prompts that contain one of their own references, and how many references that is: the leak
   * check does not count a reference the prompt already gave away. */
  givenAway: { prompts: number; references: number };
}

/** Imports the authors' prompts; duplicates (after whitespace normalisation) are dropped and listed
 * with their differing fields. `source` names the file in the rows and in error messages. */
export function importAuthorsPrompts(json: unknown, source: string): ImportReport {
  const parsed = authorsFormatSchema.safeParse(json);
  if (!parsed.success) {
    throw new UserError(`${source} is not in the published prompt format:\n${describeIssues(parsed.error)}`, 'expected a JSON list of {"prompt": {"prompt": text, "references": [terms], "subtlety": 1-10 (optional)}}');
  }
  const firstAt = new Map<string, number>();
  const prompts: FamiliarityPrompt[] = [];
  const duplicates: DuplicatePrompt[] = [];
  const givenAway = { prompts: 0, references: 0 };
  parsed.data.forEach(({ prompt: p }, i) => {
    const key = p.prompt.replace(/\s+/g, " ").trim();
    const k = firstAt.get(key);
    if (k !== undefined) {
      const kept = parsed.data[k].prompt;
      const differs: DuplicatePrompt["differs"] = [];
      if (JSON.stringify(kept.references) !== JSON.stringify(p.references)) differs.push({ field: "references", kept: kept.references, dropped: p.references });
      if (kept.subtlety !== p.subtlety) differs.push({ field: "subtlety", kept: kept.subtlety ?? null, dropped: p.subtlety ?? null });
      duplicates.push({ prompt: key, kept: k, dropped: i, differs });
      return;
    }
    firstAt.set(key, i);
    const gave = givenAwayReferences(p.prompt, p.references);
    if (gave.length) {
      givenAway.prompts++;
      givenAway.references += gave.length;
    }
    prompts.push({ id: `f${String(prompts.length).padStart(4, "0")}`, prompt: p.prompt, references: p.references, ...(p.subtlety === undefined ? {} : { subtlety: p.subtlety }), source });
  });
  return { prompts, duplicates, withoutSubtlety: prompts.filter((p) => p.subtlety === undefined).length, givenAway };
}

/** One line per duplicate for the command's output: "#12 duplicates #3 (subtlety 8 vs 7): <prompt>". */
export function describeDuplicate(d: DuplicatePrompt): string {
  const fields = d.differs.map((f) => `${f.field} ${JSON.stringify(f.kept)} kept, ${JSON.stringify(f.dropped)} dropped`).join("; ");
  const text = d.prompt.length > 70 ? `${d.prompt.slice(0, 67)}...` : d.prompt;
  return `entry ${d.dropped + 1} repeats entry ${d.kept + 1} (${fields || "identical"}): ${JSON.stringify(text)}`;
}

export type JudgeScore = 0 | 1 | 2 | 3;

/**
 * The judge's score from its answer: a JSON object with "score", or a "score: N" / "Score = N" line, or
 * an answer that is just the digit. Anything else (no score, two different scores, out of range) is
 * null: the caller retries and finally counts it as failed, never as 0.
 */
export function parseJudgement(answer: string): JudgeScore | null {
  const text = answer.trim();
  const found = new Set<number>();
  const json = text.match(/\{[^{}]*\}/g) ?? [];
  for (const j of json) {
    try {
      const v = (JSON.parse(j) as { score?: unknown }).score;
      if (typeof v === "number" || typeof v === "string") found.add(Number(v));
    } catch {
      // not JSON after all; the patterns below may still find the score
    }
  }
  for (const m of text.matchAll(/\bscore\b["']?\s*[:=]\s*["']?(-?\d+(?:\.\d+)?)/gi)) found.add(Number(m[1]));
  if (found.size === 0 && /^\d$/.test(text)) found.add(Number(text));
  if (found.size !== 1) return null;
  const [s] = found;
  return Number.isInteger(s) && s >= 0 && s <= 3 ? (s as JudgeScore) : null;
}

export interface Judgement {
  subtlety?: number;
  /** null = the judgement failed (after retries); excluded from N and counted. */
  score: JudgeScore | null;
}

export interface FamiliarityScore {
  /** (5 * n3 + n2) / N over the judged prompts. */
  score: Estimate;
  counts: [number, number, number, number];
  failed: number;
  bySubtlety: Record<string, { score: number; n: number }>;
}

const familiarityOf = (scores: readonly JudgeScore[], idx: ArrayLike<number>) => {
  let n3 = 0;
  let n2 = 0;
  for (let i = 0; i < idx.length; i++) {
    const s = scores[idx[i]];
    if (s === 3) n3++;
    else if (s === 2) n2++;
  }
  return idx.length ? (5 * n3 + n2) / idx.length : NaN;
};

export function aggregateFamiliarity(judgements: readonly Judgement[], seed: number): FamiliarityScore {
  const ok = judgements.filter((j): j is Judgement & { score: JudgeScore } => j.score !== null);
  const scores = ok.map((j) => j.score);
  const counts: [number, number, number, number] = [0, 0, 0, 0];
  for (const s of scores) counts[s]++;
  // Prompts without a grade count in the score, not in the breakdown.
  const groups = new Map<number, JudgeScore[]>();
  for (const j of ok) if (j.subtlety !== undefined) groups.set(j.subtlety, [...(groups.get(j.subtlety) ?? []), j.score]);
  const bySubtlety: Record<string, { score: number; n: number }> = {};
  for (const s of [...groups.keys()].sort((a, b) => a - b)) {
    const g = groups.get(s) as JudgeScore[];
    bySubtlety[String(s)] = { score: familiarityOf(g, Int32Array.from(g.keys())), n: g.length };
  }
  return { score: bootstrap(scores.length, (idx) => familiarityOf(scores, idx), seed), counts, failed: judgements.length - ok.length, bySubtlety };
}
