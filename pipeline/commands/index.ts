import type { Command } from "commander";
import type { StageInfo } from "../stages/catalog.js";
import { register as registerAnchors } from "./anchors.js";
import { register as registerEval } from "./eval.js";
import { register as registerExport } from "./export.js";
import { labelsCommand } from "./labels.js";
import { register as registerReviewQueue } from "./review-queue.js";
import { register as registerReview } from "./review.js";
import { register as registerServe } from "./serve.js";

/**
 * Commands beyond the pipeline stages (anchor extraction, export formats, model servers...). Each
 * feature owns one module exporting `register(program)`; the CLI calls them in this order.
 */
export const EXTRA_COMMANDS: readonly ((program: Command) => void)[] = [registerExport, registerEval, registerServe, registerAnchors, registerReviewQueue, registerReview];

/**
 * Stage commands with options of their own: the CLI makes every stage's command (description, common
 * options), then lets the stage's entry here add its options and action instead of the plain run.
 */
export const STAGE_COMMANDS: Readonly<Record<string, (cmd: Command, stage: StageInfo) => void>> = { labels: labelsCommand };
