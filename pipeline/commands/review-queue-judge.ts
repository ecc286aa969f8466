/** `whp review-queue judge`: a seeded, stratified sample of judged completions (issue #8, part 3). */
import type { Command } from "commander";

export function registerJudgeQueue(_parent: Command): void {
  // filled in by the judge audit work
}
