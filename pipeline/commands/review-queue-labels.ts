/** `whp review-queue labels`: the uncertain-label queue (issue #8, part 1). */
import type { Command } from "commander";

export function registerLabelQueue(_parent: Command): void {
  // filled in by the uncertain-label queue work
}
