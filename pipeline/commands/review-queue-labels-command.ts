/**
 * Registers `whp review-queue labels`. Apart from commands/review-queue-labels.ts, which writes the
 * queue: that module loads the tokenizer and the labels stage, and the CLI's help must not (issue 17),
 * so the action imports it when the command runs.
 */
import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { UserError } from "../core/errors.js";
import { DEFAULT_QUANTILE, DEFAULT_QUEUE_FILE } from "../labels-review/queue.js";
import { type CommonOptions, setup, withCommon } from "./common.js";

function parseNumber(flag: string, text: string | undefined, ok: (x: number) => boolean, want: string): number | undefined {
  if (text === undefined) return undefined;
  const x = Number(text);
  if (text.trim() === "" || !Number.isFinite(x) || !ok(x)) throw new UserError(`${flag} expects ${want}, got "${text}"`, `e.g. ${flag} ${flag === "--context" ? "12" : flag === "--max-margin" ? "0.05" : "0.02"}`);
  return x;
}

export function registerLabelQueue(parent: Command): void {
  withCommon(parent.command("labels").description("write a CSV of the labelled positions the combination was least sure of (smallest margin), for accept / replace / mask verdicts; apply them with `whp labels --apply-review <csv>`"), { force: false })
    .addOption(new Option("--threshold-quantile <q>", `queue the lowest share q of labelled positions by margin (default ${DEFAULT_QUANTILE} unless --max-margin is given)`))
    .addOption(new Option("--max-margin <m>", "queue only positions whose margin is at most m (logit / log-prob units)"))
    .addOption(new Option("--out <file>", `the CSV to write or refresh (default <run>/${DEFAULT_QUEUE_FILE})`))
    .addOption(new Option("--context <tokens>", "tokens of context before each position").default("12"))
    .action(async (opts: CommonOptions & { thresholdQuantile?: string; maxMargin?: string; out?: string; context: string }) => {
      const quantile = parseNumber("--threshold-quantile", opts.thresholdQuantile, (x) => x > 0 && x <= 1, "a share between 0 (excluded) and 1");
      const maxMargin = parseNumber("--max-margin", opts.maxMargin, () => true, "a number");
      const context = parseNumber("--context", opts.context, (x) => Number.isInteger(x) && x >= 0 && x <= 512, "a whole number of tokens (0 to 512)");
      const { config, log } = await setup(opts);
      const [{ writeLabelQueue }, { createContext }, { STATUS }] = await Promise.all([import("./review-queue-labels.js"), import("../stage.js"), import("../labels-review/csv.js")]);
      const r = await writeLabelQueue(createContext(config, log), { quantile, maxMargin, out: opts.out === undefined ? undefined : resolve(opts.out), context });
      const share = r.total ? ((100 * r.queued) / r.total).toFixed(1) : "0";
      process.stdout.write(
        `review-queue labels: ${r.queued} of ${r.total} labelled positions (${share}%${r.threshold === null ? "" : `, margin <= ${r.threshold}`}) -> ${r.file}\n` +
          `  kept ${r.keptVerdicts} reviewed row(s) in the queue and ${r.keptOutside} outside it (flagged "${STATUS.kept}"), dropped ${r.dropped} untouched row(s)\n` +
          `  fill in verdict (accept | replace | mask) and, for replace, the replacement token; then \`whp labels --apply-review ${r.file}\`\n`,
      );
    });
}
