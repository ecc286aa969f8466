/**
 * Importing plain probability prompts, as the authors published theirs: a JSON list of
 * `{"prompt": "Harry Potter is a"}` with no target tokens, optionally `"targets": ["wizard", ...]`.
 * Pure apart from the tokenizer, reached through `encode`.
 *
 * A prompt's targets are the first tokens that would follow its text: of each listed target, or, when
 * it lists none, of every dictionary term (the way the term tokenizes right after this prompt). Like
 * the mined prompts, a term's token is dropped when one of its translations starts with the same token
 * (it is not specific to the forget set), and a term the prompt already contains is not a target.
 * Prompts left with no target are counted and reported, never kept with an empty tag list.
 */
import { z } from "zod";
import { describeIssues } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";
import { forgetTag, tokenAfter } from "./next-token.js";
import { givenAwayReferences } from "./scores.js";

const plainSchema = z.array(z.object({ prompt: z.string().min(1), targets: z.array(z.string().min(1)).min(1).optional() }).loose());
export type PlainPrompt = z.infer<typeof plainSchema>[number];

export function parsePlainProbabilityPrompts(json: unknown, source: string): PlainPrompt[] {
  const parsed = plainSchema.safeParse(json);
  if (!parsed.success) {
    throw new UserError(`${source} is not a list of probability prompts:\n${describeIssues(parsed.error)}`, 'expected a JSON list of {"prompt": text} or {"prompt": text, "targets": [words]}');
  }
  return parsed.data;
}

export interface ImportedProbabilityPrompt {
  id: string;
  origin: "imported";
  /** The imported file; position -1: not at a corpus position. */
  block: string;
  position: -1;
  context_ids: number[];
  tagged: number[];
  terms: string[];
  text: string;
}

export interface ProbabilityImportStats {
  prompts: number;
  kept: number;
  /** Prompts for which no target token could be tagged (dropped). */
  noTarget: number;
  /** Prompts with their own `targets` list. */
  withTargets: number;
  /** Target words whose first token merges with the prompt's last token (no clean boundary). */
  boundaryMismatch: number;
  /** Terms whose first token is also a translation's (not forget-specific). */
  sharedFirstToken: number;
  /** Dictionary terms left out of a prompt's targets because the prompt contains them. */
  givenAway: number;
  /** Prompts whose text tokenizes like an earlier one's (dropped). */
  duplicates: number;
}

/**
 * Tags plain prompts with token ids: context = prefix + encode(text), targets as described above.
 * Ids "i0000"... in file order of the kept prompts.
 */
export async function tagPlainPrompts(
  prompts: readonly PlainPrompt[],
  dictionary: readonly { term: string; translations: readonly string[] }[],
  io: { encode: (text: string) => Promise<number[]>; prefix: readonly number[] },
  source: string,
): Promise<{ prompts: ImportedProbabilityPrompt[]; stats: ProbabilityImportStats; noTarget: string[] }> {
  const stats: ProbabilityImportStats = { prompts: prompts.length, kept: 0, noTarget: 0, withTargets: 0, boundaryMismatch: 0, sharedFirstToken: 0, givenAway: 0, duplicates: 0 };
  const translationsOf = new Map(dictionary.map((e) => [e.term, e.translations]));
  const out: ImportedProbabilityPrompt[] = [];
  const noTarget: string[] = [];
  const seen = new Set<string>();
  for (const p of prompts) {
    const text = p.prompt.trimEnd();
    const textIds = await io.encode(text);
    // A prompt ending in an opening quote or bracket runs straight into the word; otherwise a space.
    const sep = /["'(\[\u201c\u2018]$/.test(text) ? "" : " ";
    // Memoised per prompt: translations repeat across terms ("the city").
    const memo = new Map<string, Promise<number | null>>();
    const next = (word: string) => {
      let p = memo.get(word);
      if (!p) {
        p = tokenAfter(io.encode, text, textIds, word, sep);
        memo.set(word, p);
      }
      return p;
    };
    let words: readonly string[];
    if (p.targets) {
      stats.withTargets++;
      words = p.targets;
    } else {
      const all = dictionary.map((e) => e.term);
      const gave = new Set(givenAwayReferences(text, all));
      stats.givenAway += gave.size;
      words = all.filter((t) => !gave.has(t));
    }
    const tags = new Map<number, string[]>();
    for (const w of words) {
      const tag = await forgetTag(next, w, translationsOf.get(w) ?? []);
      if (tag === "boundary") stats.boundaryMismatch++;
      else if (tag === "shared") stats.sharedFirstToken++;
      else tags.set(tag, [...(tags.get(tag) ?? []), w]);
    }
    if (tags.size === 0 || textIds.length === 0) {
      stats.noTarget++;
      noTarget.push(text);
      continue;
    }
    const context = [...io.prefix, ...textIds];
    const key = context.join(",");
    if (seen.has(key)) {
      stats.duplicates++;
      continue;
    }
    seen.add(key);
    const tagged = [...tags.keys()].sort((a, b) => a - b);
    out.push({ id: `i${String(out.length).padStart(4, "0")}`, origin: "imported", block: source, position: -1, context_ids: context, tagged, terms: [...new Set(tagged.flatMap((t) => tags.get(t) as string[]))].sort(), text });
  }
  stats.kept = out.length;
  return { prompts: out, stats, noTarget };
}
