/** A minimal scores file as `whp eval --judge` writes it (pipeline/eval/files.ts), holding only
 * judgements: for the judge audit's and the queue tabs' tests. */
import { EVAL_VERSION, type ScoresFile } from "../../pipeline/eval/files.js";

const estimate = { value: 0, n: 0, ci: [0, 0] as [number, number] };

export function judgedScoresFile(model: string, judgements: { id: string; completion: string; score: number | null }[]): ScoresFile {
  return {
    format: "whp-eval-scores",
    version: EVAL_VERSION,
    model,
    identity: {},
    evalset: "e",
    fingerprint: "f",
    scores: { probabilityFamiliarity: estimate, leakRate: estimate, retainPerplexity: estimate },
    familiarity: { counts: [0, 0, 0, 0], failed: 0, malformed: 0, bySubtlety: {}, judgements },
    items: { probability: [], retain: [], neighbour: [], kl: [], completions: [] },
  };
}
