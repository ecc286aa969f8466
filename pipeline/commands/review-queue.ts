/**
 * `whp review-queue <what>`: CSV queues of the places where the method is unsure, for a person to
 * decide. Each queue owns one module registering its sub-command under the shared parent.
 */
import type { Command } from "commander";
import { registerJudgeQueue } from "./review-queue-judge.js";
import { registerLabelQueue } from "./review-queue-labels-command.js";

export function register(program: Command): void {
  const parent = program.command("review-queue").description("write a CSV of cases for human review (labels, judge)");
  registerLabelQueue(parent);
  registerJudgeQueue(parent);
}
