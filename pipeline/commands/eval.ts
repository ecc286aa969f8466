/**
 * `whp evalset`, `whp eval` and `whp report`: the evaluation prompt set, its scores, the HTML report.
 * Registration only (names, options, help); the actions live in commands/eval-actions.ts and are
 * imported when a command runs, so `whp --help` loads no tokenizer or evaluation code (issue 17).
 */
import { type Command, Option } from "commander";
import { EVAL_MODELS } from "../eval/cli-defaults.js";
import { withCommon } from "./common.js";
import type { EvalOptions, EvalsetOptions, ReportOptions } from "./eval-actions.js";

export function register(program: Command): void {
  withCommon(program.command("evalset").description("write the evaluation prompt set (probability prompts, retain texts, forget positions) under <run>/eval/"), { force: false })
    .addOption(new Option("--size <n>", "probability prompts to sample").default("100"))
    .addOption(new Option("--context <n>", "tokens of context before each anchor").default("8"))
    .addOption(new Option("--retain-fraction <x>", "share of general blocks held out for retain perplexity").default("0.1"))
    .addOption(new Option("--neighbours <n>", "general blocks closest in vocabulary to the forget corpus, held out as neighbour retain texts (0 = none)").default("30"))
    .addOption(new Option("--positions <n>", "forget-corpus positions for the restoration KL").default("1000"))
    .addOption(new Option("--completion-tokens <n>", "tokens each sandbox completion runs for").default("12"))
    .option("-f, --force", "rewrite the set even when it is up to date")
    .option("--familiarity <file>", "also import completion prompts in the authors' published JSON format -> eval/familiarity.jsonl (needs no finished run)")
    .option("--probability <file>", 'also import plain probability prompts, [{"prompt": text, "targets"?: [words]}] -> eval/probability-imported.jsonl (needs the tokenizer, not a finished run)')
    .option("--llm-probability <passages>", "also have the llm: chat model write probability prompts from this many seeded forget passages (--per-passage each), after the mined ones")
    .option("--generate <passages>", "also have the llm: chat model write completion prompts from this many seeded forget passages -> eval/familiarity.jsonl")
    .addOption(new Option("--per-passage <n>", "prompts asked for per passage (--generate, --llm-probability)").default("5"))
    .action(async (opts: EvalsetOptions) => (await import("./eval-actions.js")).evalsetAction(opts));

  withCommon(program.command("eval").description("score sandbox or served models on the evaluation set, or compare scores side by side"), { force: false })
    .addOption(
      new Option(
        "--model <names...>",
        `models to evaluate: sandbox ${EVAL_MODELS.join(", ")}; a name under evalModels: in the config; or <name>=http://host:port[#served-model] (vLLM) / <name>=sglang:http://host:port (default: the sandbox's four, or the run's served models, then every evalModels: entry)`,
      ),
    )
    .addOption(new Option("--baseline <name>", "the model relative perplexities are taken against (resolved like --model; only models of the same kind, sandbox or served, are compared)").default("baseline"))
    .addOption(new Option("--compare <names...>", "print saved scores side by side (model names or scores files)"))
    .option("-f, --force", "re-score even when the saved scores are up to date")
    .option("--judge", "also complete eval/familiarity.jsonl with each model and have the llm: chat model judge it 0-3")
    .option("--audit <file>", "report judge-human agreement (exact, Cohen's kappa) from a filled `whp review-queue judge` CSV, and the familiarity recomputed with human scores")
    .action(async (opts: EvalOptions) => (await import("./eval-actions.js")).evalAction(opts));

  withCommon(program.command("report").description("write <run>/report.html: the scores table, charts and sample blocks (self-contained)"), { force: false })
    .addOption(new Option("--blocks <n>", "sample blocks to show token by token").default("3"))
    .action(async (opts: ReportOptions) => (await import("./eval-actions.js")).reportAction(opts));
}
