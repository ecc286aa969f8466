/** `whp review-queue judge`: a seeded, stratified sample of judged completions (issue #8, part 3). */
import { Option, type Command } from "commander";
import { UserError } from "../core/errors.js";
import { DEFAULT_AUDIT_SIZE } from "../eval/cli-defaults.js";
import { type CommonOptions, setup, withCommon } from "./common.js";
import { resolve } from "node:path";

type Opts = CommonOptions & { size: string; model?: string[]; out?: string };

export function registerJudgeQueue(parent: Command): void {
  // exitOverride: the CLI's main() turns commander errors into exit codes; nested commands need it too.
  withCommon(
    parent.command("judge").exitOverride().description("sample judged completions (stratified by judge score and subtlety, seeded) into a CSV for a person to score 0-3; then `whp eval --audit <file>`"),
    { force: false },
  )
    .addOption(new Option("--size <n>", "completions to sample").default(String(DEFAULT_AUDIT_SIZE)))
    .option("--model <names...>", "scores files to sample from (default: every model with judgements)")
    .option("--out <file>", "the audit CSV (default <run>/review/judge-audit.csv)")
    .action(async (opts: Opts) => {
      const { config } = await setup(opts);
      const size = Number(opts.size);
      if (!Number.isInteger(size) || size < 1) throw new UserError(`--size: expected an integer >= 1, got "${opts.size}"`);
      const { writeJudgeQueue } = await import("../eval/judge-audit.js");
      const r = await writeJudgeQueue(config.runDir, { size, seed: config.seed, out: opts.out ? resolve(opts.out) : undefined, models: opts.model });
      const lines = [
        `review-queue judge: ${r.file}: ${r.rows} rows (${r.sampled} sampled of ${r.judged} judged completions, ${r.kept} filled row(s) kept${r.keptOutsideSample ? `, ${r.keptOutsideSample} of them outside this sample` : ""})`,
        ...Object.entries(r.strata).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, s]) => `  ${k}: ${s.sampled} of ${s.judged}`),
        ...(r.unmatched ? [`  ${r.unmatched} judged completion(s) left out: their prompt id is not in eval/familiarity.jsonl (prompts rewritten since judging; re-run \`whp eval --judge\`)`] : []),
        "  next: fill in human_score (0-3, empty = not scored), then `whp eval --audit <file>`",
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
