/**
 * A small run with both review queues written by the CLI, for the queue tabs' tests
 * (tests/review-queues-*.test.ts): `whp run` + `whp review-queue labels` on the fixture, and a
 * hand-made judged eval (eval/familiarity.jsonl and a scores file, as `whp eval --judge` writes them)
 * + `whp review-queue judge`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { judgedScoresFile } from "./scores-file.js";
import { whpCli } from "./capture.js";
import { makeFixture, type Fixture } from "./fixture.js";

export interface QueueRun extends Fixture {
  labelsFile: string;
  judgeFile: string;
}


/** Writes 8 judged completions of model "baseline" (judge scores 0-3 cycling) into the run. */
export async function writeJudgedEval(runDir: string): Promise<void> {
  await mkdir(join(runDir, "eval"), { recursive: true });
  const ids = Array.from({ length: 8 }, (_, i) => `f${i}`);
  await writeFile(join(runDir, "eval", "familiarity.jsonl"), ids.map((id, i) => `${JSON.stringify({ id, prompt: `Who lived in Cinderholt? (${id})`, references: ["Tamsin", "Cinderholt"], subtlety: i + 1, source: "test" })}\n`).join(""));
  const judgements = ids.map((id, i) => ({ id, completion: i % 2 ? `In Cinderholt lived Tamsin, ${id}.\nShe had a lantern.` : `Nobody I know of (${id}).`, score: i % 4 }));
  await writeFile(join(runDir, "eval", "scores-baseline.json"), JSON.stringify(judgedScoresFile("baseline", judgements)));
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
