/**
 * Commands for model servers:
 * - `whp serve`: the reference server (vLLM and SGLang protocol subsets) over the config's embedded
 *   n-gram models, so the pipeline can be run and tested over real HTTP without a GPU.
 * - `whp merge`: assembles every shard's chunks into the labels stage's outputs (the same bytes an
 *   unsharded run writes) and records the stage as done. The shards themselves are
 *   `whp labels --shard i/n` (commands/labels.ts).
 */
import { Command, Option } from "commander";
import { UserError } from "../core/errors.js";
import { type CommonOptions, setup as setupCommon, withCommon } from "./common.js";
import { EVAL_MODELS } from "../eval/cli-defaults.js";
import type { NgramModel } from "../models/ngram.js";
import type { ServedModel } from "../models/reference-server.js";

type Common = CommonOptions;

/** The shared options, plus the stage context these commands work in. */
async function setup(opts: Common) {
  const { config, log } = await setupCommon(opts);
  const { createContext } = await import("../stage.js");
  return { config, log, ctx: createContext(config, log) };
}

function registerServe(program: Command): void {
  withCommon(program.command("serve").description("serve the config's embedded n-gram models over HTTP, speaking the vLLM (/v1/completions, /tokenize) and SGLang (/generate) subsets whp uses"), { force: false })
    .addOption(new Option("--host <host>", "address to listen on").default("127.0.0.1"))
    .addOption(new Option("--port <port>", "port (0 = any free one)").default("8000"))
    .addOption(new Option("--max-logprobs <k>", "like vLLM's --max-logprobs (-1 = no limit)").default("20"))
    .addOption(new Option("--max-model-len <n>", "like vLLM's --max-model-len").default("4096"))
    .addOption(new Option("--error-shape <shape>", "error bodies as vLLM >= 0.10.1 (nested) or 0.6 to 0.10.0 (flat)").choices(["nested", "flat"]).default("nested"))
    .option("--sglang-clip", "report prompt ids >= vocab_size - 1 as 0 in input_token_logprobs, as SGLang does")
    .option("--sandbox", "serve the evaluation sandbox's models instead (baseline, reinforced, unlearned, oracle as `whp eval` trains them; needs `whp evalset`), to try `whp eval --model <name>=<url>`")
    .action(async (opts: Common & { host: string; port: string; maxLogprobs: string; maxModelLen: string; errorShape: "nested" | "flat"; sglangClip?: boolean; sandbox?: boolean }) => {
      const { config, ctx } = await setup(opts);
      // Imported when the command runs, not when the CLI starts (issue 17: `whp --help` loads no model code).
      const [{ loadSandboxModels }, { startReferenceServer }, { MODEL_ROLES }, { runStage }, { STAGES }, { loadSources }] = await Promise.all([
        import("../eval/evaluate.js"),
        import("../models/reference-server.js"),
        import("../models/registry.js"),
        import("../stage.js"),
        import("../stages/index.js"),
        import("../stages/labels.js"),
      ]);
      let sources: Record<string, NgramModel>;
      if (opts.sandbox) sources = await loadSandboxModels(config, EVAL_MODELS);
      else {
        // The models train on the run's token blocks, so the stages that make them run first.
        for (const stage of STAGES.slice(0, STAGES.findIndex((s) => s.name === "tokenize") + 1)) await runStage(stage, ctx);
        const ngramRoles = MODEL_ROLES.filter((r) => config.models[r]?.provider === "ngram");
        if (!ngramRoles.length) throw new UserError("`whp serve` serves the config's embedded n-gram models, and this config has none", "use a config whose models have provider: ngram (e.g. demo/whp.config.yaml)");
        sources = (await loadSources(ctx, ngramRoles)) as Record<string, NgramModel>;
      }
      const roles = Object.keys(sources);
      const tok = await ctx.tokenizer();
      const models: Record<string, ServedModel> = {};
      for (const role of roles) {
        const src = sources[role];
        models[role] = { source: src, logProb: (h, t) => src.logProb(h, t) };
      }
      const server = await startReferenceServer({
        models,
        tokenizer: { encodeWithSpecial: async (text) => [...tok.info.prefixSpecialIds, ...(await tok.encodeIds(text))], decode: (ids) => tok.decode(ids) },
        maxLogprobs: Number(opts.maxLogprobs),
        maxModelLen: Number(opts.maxModelLen),
        errorShape: opts.errorShape,
        sglangClip: opts.sglangClip === true,
        host: opts.host,
        port: Number(opts.port),
      });
      process.stdout.write(
        `serving ${roles.join(", ")} at ${server.url} (vLLM: /v1/models, /tokenize, /v1/completions; SGLang: /generate serves "${roles[0]}")\n` +
          `use it with e.g.  models: { baseline: { provider: vllm, model: baseline, urls: ["${server.url}"] }, reinforced: { provider: vllm, model: reinforced, urls: ["${server.url}"] } }\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}

function registerMerge(program: Command): void {
  withCommon(program.command("merge").description("combine the finished `whp labels --shard i/n` outputs into labels.jsonl (the same bytes as an unsharded run)"), { force: false })
    .option("-f, --force", "merge even when the labels stage is recorded as up to date")
    .action(async (opts: Common) => {
      const { ctx } = await setup(opts);
      const [{ runStage }, { labelsMergeStage }] = await Promise.all([import("../stage.js"), import("../stages/labels.js")]);
      const outcome = await runStage(labelsMergeStage, ctx, { force: opts.force });
      process.stdout.write(`merge: ${outcome.skipped ? "labels already up to date" : `labels.jsonl written in ${outcome.seconds.toFixed(1)} s`}\n`);
    });
}

export function register(program: Command): void {
  registerServe(program);
  registerMerge(program);
}
