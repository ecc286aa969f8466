/**
 * `whp labels`: the labels stage's command. Besides the plain stage run every stage command has, it
 * takes its own options:
 * - `--shard i/n`: one machine's share of the stage (chunk c belongs to shard c % n), then `whp merge`
 *   (commands/serve.ts) assembles the shards;
 * - `--apply-review <csv>`: store the verdicts of a `whp review-queue labels` CSV as
 *   labels-review.json (commands/review-queue-labels.ts), for the next run to apply.
 * Without them the command runs the stage like any other stage command.
 */
import { type Command, Option } from "commander";
import { createContext, runStage, type Stage } from "../stage.js";
import { parseShard, runLabelsShard } from "../stages/labels.js";
import { type CommonOptions, setup } from "./common.js";
import { applyReviewCsv } from "./review-queue-labels.js";

/** Adds the labels command's options and action to `cmd`, which the CLI made with the common options. */
export function labelsCommand(cmd: Command, stage: Stage): void {
  cmd.addOption(new Option("--shard <i/n>", "process only shard i of n (0-based; chunk c belongs to shard c % n), then `whp merge`"));
  cmd.addOption(new Option("--apply-review <csv>", "apply the verdicts of a `whp review-queue labels` CSV (stored as labels-review.json; no model is asked again), then `whp export`").conflicts("shard"));
  cmd.action(async (opts: CommonOptions & { shard?: string; applyReview?: string }) => {
    const { config, log } = await setup(opts);
    const ctx = createContext(config, log);
    if (opts.applyReview) {
      const r = await applyReviewCsv(ctx, opts.applyReview);
      const v = r.verdicts;
      process.stdout.write(`labels: applied ${v.accept + v.replace + v.mask} verdict(s) (accept ${v.accept}, replace ${v.replace}, mask ${v.mask}${r.skipped ? `; ${r.skipped} not applied, see the warning above` : ""}), stored in ${r.stored}; run \`whp export\` (or \`whp run\`) to rebuild train.jsonl\n`);
      return;
    }
    if (opts.shard) {
      const shard = parseShard(opts.shard);
      await runLabelsShard(ctx, shard);
      process.stdout.write(`labels: shard ${shard.index}/${shard.count} done\n`);
      return;
    }
    const outcome = await runStage(stage, ctx, { force: opts.force });
    process.stdout.write(`labels: ${outcome.skipped ? "up to date" : `done in ${outcome.seconds.toFixed(1)} s`}\n`);
  });
}
