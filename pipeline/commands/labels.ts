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
import type { StageInfo } from "../stages/catalog.js";
import { type CommonOptions, setup } from "./common.js";

/** Adds the labels command's options and action to `cmd`, which the CLI made with the common options.
 * The stage and the review code are imported when the command runs (issue 17: fast `whp --help`). */
export function labelsCommand(cmd: Command, stage: StageInfo): void {
  cmd.addOption(new Option("--shard <i/n>", "process only shard i of n (0-based; chunk c belongs to shard c % n), then `whp merge`"));
  cmd.addOption(new Option("--apply-review <csv>", "apply the verdicts of a `whp review-queue labels` CSV (stored as labels-review.json; no model is asked again), then `whp export`").conflicts("shard"));
  cmd.action(async (opts: CommonOptions & { shard?: string; applyReview?: string }) => {
    const { config, log } = await setup(opts);
    const [{ createContext, runStage }, { labelsStage, runLabelsShard }, { parseShard }] = await Promise.all([import("../stage.js"), import("../stages/labels.js"), import("../runner/shards.js")]);
    const ctx = createContext(config, log);
    if (opts.applyReview) {
      const { applyReviewCsv } = await import("./review-queue-labels.js");
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
    const outcome = await runStage(labelsStage, ctx, { force: opts.force, verify: opts.verify });
    process.stdout.write(`${stage.name}: ${outcome.skipped ? "up to date" : `done in ${outcome.seconds.toFixed(1)} s`}\n`);
  });
}
