/**
 * A small run with both review queues written by the CLI, for the queue tabs' tests
 * (tests/review-queues-*.test.ts): `whp run` + `whp review-queue labels` on the fixture, and a
 * hand-made judged eval (eval/familiarity.jsonl and a scores file, as `whp eval --judge` writes them)
 * + `whp review-queue judge`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { EVAL_VERSION, type ScoresFile } from "../../pipeline/eval/files.js";
import { whpCli } from "./capture.js";
import { makeFixture, type Fixture } from "./fixture.js";

export interface QueueRun extends Fixture {
  labelsFile: string;
  judgeFile: string;
}

const estimate = { value: 0, n: 0, ci: [0, 0] as [number, number] };

function scoresFile(model: string, judgements: { id: string; completion: string; score: number | null }[]): ScoresFile {
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

/** Writes 8 judged completions of model "baseline" (judge scores 0-3 cycling) into the run. */
export async function writeJudgedEval(runDir: string): Promise<void> {
  await mkdir(join(runDir, "eval"), { recursive: true });
  const ids = Array.from({ length: 8 }, (_, i) => `f${i}`);
  await writeFile(join(runDir, "eval", "familiarity.jsonl"), ids.map((id, i) => `${JSON.stringify({ id, prompt: `Who lived in Cinderholt? (${id})`, references: ["Tamsin", "Cinderholt"], subtlety: i + 1, source: "test" })}\n`).join(""));
  const judgements = ids.map((id, i) => ({ id, completion: i % 2 ? `In Cinderholt lived Tamsin, ${id}.\nShe had a lantern.` : `Nobody I know of (${id}).`, score: i % 4 }));
  await writeFile(join(runDir, "eval", "scores-baseline.json"), JSON.stringify(scoresFile("baseline", judgements)));
}

export async function makeQueueRun(): Promise<QueueRun> {
  const fx = await makeFixture({}, { forgetChars: 3000, generalChars: 12000 });
  for (const args of [["run"], ["review-queue", "labels"]]) {
    const r = await whpCli(fx.configPath, ...args);
    expect(r.code, r.err).toBe(0);
  }
  await writeJudgedEval(fx.runDir);
  const judge = await whpCli(fx.configPath, "review-queue", "judge", "--size", "6");
  expect(judge.code, judge.err).toBe(0);
  return { ...fx, labelsFile: join(fx.runDir, "review", "labels-queue.csv"), judgeFile: join(fx.runDir, "review", "judge-audit.csv") };
}
