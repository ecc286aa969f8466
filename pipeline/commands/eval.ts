/** `whp evalset`, `whp eval` and `whp report`: the evaluation prompt set, its scores, the HTML report. */
import { mkdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { type Command, Option } from "commander";
import type { ResolvedConfig } from "../config.js";
import { type CommonOptions, setup, withCommon } from "./common.js";
import { fileExists, fileSha256, readJson, readJsonlAll, writeFileAtomic, writeJsonAtomic, writeJsonlAtomic } from "../core/artifacts.js";
import { UserError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { canonicalJson, deriveSeed, hashJson } from "../core/hash.js";
import { ModelTokenizer } from "../core/tokenizer.js";
import { type EvalParams, evalFiles, evalsetSchema, probabilityPromptSchema, retainRowSchema, scoresSchema, EVAL_VERSION, type ScoresFile, trainRowSchema } from "../eval/files.js";
import { aggregateFamiliarity, importAuthorsPrompts } from "../eval/familiarity.js";
import { judgeCompletions } from "../eval/judge.js";
import { generatePrompts, JUDGE_COMPLETION_TOKENS, JUDGE_TRIES, judgeSetup, probabilityLlmIdentity, readUserJson, writeProbabilityPrompts } from "../eval/llm-io.js";
import { NEIGHBOUR_DEFAULTS, pickNeighbours } from "../eval/neighbours.js";
import { holdOutGeneral, mineProbabilityPrompts, sampleForgetPositions } from "../eval/prompts.js";
import { renderReport, type ReportBlock } from "../eval/report.js";
import { collectItems, type EvalItems, type EvalSetData, scoreItems } from "../eval/runner.js";
import { EVAL_MODELS, type EvalModelName, sandboxSpec, trainSandboxModel, type TrainRow } from "../eval/sandbox.js";
import { formatTable, type ScoredModel } from "../eval/table.js";
import type { NgramModel } from "../models/ngram.js";
import { ARTIFACTS } from "../stage.js";
import { dictionarySchema } from "../stages/dictionary.js";
import { alignedSchema } from "../stages/translate.js";
import { blockSchema, generalBlockSchema } from "../stages/tokenize.js";

const artifact = (config: ResolvedConfig, name: keyof typeof ARTIFACTS) => join(config.runDir, ARTIFACTS[name]);

async function requireFile(path: string, fix: string): Promise<void> {
  if (!(await fileExists(path))) throw new UserError(`${path} does not exist`, fix);
}

function positiveInt(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`--${name}: expected an integer >= ${min}, got "${v}"`);
  return n;
}

async function writeEvalset(config: ResolvedConfig, params: EvalParams, log: Logger, force: boolean): Promise<string> {
  for (const name of ["blocks", "generalBlocks", "aligned", "dictionary", "train"] as const) await requireFile(artifact(config, name), "run the pipeline first (`whp run`)");
  const files = evalFiles(config.runDir);
  const tok = await ModelTokenizer.load(config.tokenizer);
  const blocks = await readJsonlAll(artifact(config, "blocks"), blockSchema);
  const aligned = await readJsonlAll(artifact(config, "aligned"), alignedSchema);
  const general = await readJsonlAll(artifact(config, "generalBlocks"), generalBlockSchema);
  const dict = await readJson(artifact(config, "dictionary"), dictionarySchema, "dictionary");
  const { prompts, stats } = mineProbabilityPrompts(blocks, aligned, { contextTokens: params.contextTokens, size: params.size, seed: config.seed });
  if (prompts.length === 0) throw new UserError("no anchor occurrence in the forget blocks could become a probability prompt", "check the dictionary matches the corpus (`whp inspect`)");
  const heldOut = holdOutGeneral(general.map((g) => g.id), params.retainFraction, config.seed);
  if (heldOut.length === 0) throw new UserError("the run has no general-corpus blocks to hold out for retain perplexity", "add general English under corpus.general");
  const held = new Set(heldOut);
  // Neighbours come from the blocks not already held out at random, and are held out from every model too.
  const generalTexts = [];
  for (const g of general) generalTexts.push({ id: g.id, text: await tok.decode(g.input_ids) });
  const forgetTexts = [];
  for (const b of blocks) forgetTexts.push(await tok.decode(b.input_ids));
  const candidates = new Set(general.filter((g) => !held.has(g.id)).map((g) => g.id));
  const nb = pickNeighbours(forgetTexts, generalTexts, candidates, { ...NEIGHBOUR_DEFAULTS, count: params.neighbours });
  const neighbourIds = new Set(nb.ids);
  const sources: Record<string, string> = {};
  for (const name of ["blocks", "generalBlocks", "aligned", "dictionary", "train"] as const) sources[ARTIFACTS[name]] = await fileSha256(artifact(config, name));
  // Same run artifacts, seed and parameters: the set on disk is already the one this would write.
  const llmIdentity = params.llmPassages > 0 ? (await probabilityLlmIdentity(config)).identity : undefined;
  const existing = (await fileExists(files.evalset)) ? await readJson(files.evalset, evalsetSchema, "evaluation set").catch(() => undefined) : undefined;
  if (!force && existing && existing.seed === config.seed && canonicalJson([existing.params, existing.sources, existing.llm ?? null]) === canonicalJson([params, sources, llmIdentity ?? null]) && (await fileExists(files.probability)) && (await fileExists(files.retain)) && (await fileExists(files.neighbour))) {
    log.info("evalset: up to date");
    return files.dir;
  }
  await mkdir(files.dir, { recursive: true });
  const rows = [];
  for (const p of prompts) rows.push({ ...p, text: await tok.decode(p.context_ids), tagged_text: p.tagged.map((t) => tok.tokenText(t)) });
  let llmStats: Record<string, number> = {};
  if (params.llmPassages > 0) {
    const taken = new Set(prompts.map((p) => p.context_ids.join(",")));
    const written = await writeProbabilityPrompts(config, { blocks, aligned, dictionary: dict.entries, tok, taken }, params.llmPassages, params.llmPerPassage);
    for (const p of written.prompts) rows.push({ ...p, tagged_text: p.tagged.map((t) => tok.tokenText(t)) });
    llmStats = Object.fromEntries(Object.entries(written.stats).map(([k, v]) => [`llm${k[0].toUpperCase()}${k.slice(1)}`, v]));
    process.stdout.write(`evalset: the llm wrote ${written.stats.written} probability prompts from ${written.stats.passages} passages, kept ${written.stats.kept} (unknown term ${written.stats.unknownTerm}, give-aways ${written.stats.givenAway}, token-boundary mismatches ${written.stats.boundaryMismatch}, shared first token ${written.stats.sharedFirstToken}, duplicates ${written.stats.duplicates}, malformed answers ${written.stats.malformed}, failed passages ${written.stats.failedPassages}) -> eval/probability.jsonl\n`);
  }
  await writeJsonlAtomic(files.probability, rows);
  await writeJsonlAtomic(files.retain, general.filter((g) => held.has(g.id)));
  await writeJsonlAtomic(files.neighbour, general.filter((g) => neighbourIds.has(g.id)));
  await writeJsonAtomic(files.evalset, {
    format: "whp-evalset",
    version: EVAL_VERSION,
    seed: config.seed,
    params,
    sources,
    // Mean share of distinctive forget words (per mille): neighbours vs the blocks they were picked from.
    stats: {
      ...stats,
      retainTexts: heldOut.length,
      generalBlocks: general.length,
      ...llmStats,
      neighbourTexts: nb.ids.length,
      neighbourVocabulary: nb.vocabulary,
      neighbourSharePermille: Math.round(1000 * nb.meanShare),
      candidateSharePermille: Math.round(1000 * nb.candidateMeanShare),
    },
    heldOutGeneral: heldOut,
    neighbourGeneral: nb.ids,
    ...(llmIdentity ? { llm: llmIdentity } : {}),
    forgetPositions: sampleForgetPositions(blocks, params.forgetPositions, config.seed),
    references: dict.entries.map((e) => e.term).sort(),
  });
  log.info(`evalset: ${prompts.length} probability prompts (of ${stats.candidates} candidates), ${heldOut.length} retain texts and ${nb.ids.length} neighbour texts held out of ${general.length} general blocks`);
  return files.dir;
}

interface LoadedSet {
  data: EvalSetData;
  hash: string;
  general: { id: string; input_ids: number[] }[];
  train: TrainRow[];
  tok: ModelTokenizer;
}

async function loadEvalset(config: ResolvedConfig): Promise<LoadedSet> {
  const files = evalFiles(config.runDir);
  await requireFile(files.evalset, "write the evaluation set first: `whp evalset`");
  const set = await readJson(files.evalset, evalsetSchema, "evaluation set");
  for (const [name, sha] of Object.entries(set.sources)) {
    if ((await fileSha256(join(config.runDir, name))) !== sha) throw new UserError(`${name} changed since the evaluation set was written`, "re-run `whp evalset`");
  }
  const held = new Set([...set.heldOutGeneral, ...set.neighbourGeneral]);
  const general = (await readJsonlAll(artifact(config, "generalBlocks"), generalBlockSchema)).filter((g) => !held.has(g.id));
  return {
    data: {
      probability: await readJsonlAll(files.probability, probabilityPromptSchema),
      retain: await readJsonlAll(files.retain, retainRowSchema),
      neighbour: await readJsonlAll(files.neighbour, retainRowSchema),
      forget: await readJsonlAll(artifact(config, "blocks"), blockSchema),
      forgetPositions: set.forgetPositions,
      references: set.references,
      completionTokens: set.params.completionTokens,
      seed: set.seed,
    },
    hash: await fileSha256(files.evalset),
    general,
    train: await readJsonlAll(artifact(config, "train"), trainRowSchema),
    tok: await ModelTokenizer.load(config.tokenizer),
  };
}

/** Trains (once) and evaluates the requested sandbox models; the baseline and oracle are always
 * evaluated too when needed for the relative figures. Returns the scores in EVAL_MODELS order. */
async function evaluate(config: ResolvedConfig, names: readonly EvalModelName[], log: Logger, force: boolean, withJudge = false): Promise<ScoresFile[]> {
  const set = await loadEvalset(config);
  const files = evalFiles(config.runDir);
  const trainSha = await fileSha256(artifact(config, "train"));
  const judging = withJudge ? await judgeSetup(config) : undefined;
  // A model's scores depend on the set, the run, its own spec and those of the baseline and oracle it
  // is compared with (and on the judge, when one is used).
  const fingerprint = (name: EvalModelName) =>
    hashJson({ version: EVAL_VERSION, evalset: set.hash, train: trainSha, model: name, specs: [name, "baseline", "oracle"].map((n) => sandboxSpec(n as EvalModelName, config.models)), judge: judging?.identity ?? null });
  const wanted = EVAL_MODELS.filter((n) => names.includes(n));
  if (!force) {
    const cached: ScoresFile[] = [];
    for (const name of wanted) {
      const s = (await fileExists(files.scores(name))) ? await readJson(files.scores(name), scoresSchema, "scores").catch(() => undefined) : undefined;
      if (s && s.fingerprint === fingerprint(name)) cached.push(s);
    }
    if (cached.length === wanted.length) {
      log.info("eval: scores up to date");
      return cached;
    }
  }
  const sandbox = { vocabSize: set.tok.info.vocabSize, general: set.general, forget: set.data.forget, train: set.train };
  const models = new Map<EvalModelName, NgramModel>();
  const model = (name: EvalModelName) => {
    let m = models.get(name);
    if (!m) {
      m = trainSandboxModel(name, config.models, sandbox);
      models.set(name, m);
    }
    return m;
  };
  const oracle = model("oracle");
  const items = new Map<EvalModelName, EvalItems>();
  const decode = (ids: readonly number[]) => set.tok.decode(ids);
  const itemsOf = async (name: EvalModelName) => {
    let it = items.get(name);
    if (!it) {
      const t0 = performance.now();
      it = await collectItems(model(name), oracle, set.data, decode);
      items.set(name, it);
      log.info(`eval: ${name} scored in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    return it;
  };
  const baseline = await itemsOf("baseline");
  const out: ScoresFile[] = [];
  for (const name of wanted) {
    const it = await itemsOf(name);
    let familiarity: ScoresFile["familiarity"];
    let completionFamiliarity: ScoresFile["scores"]["completionFamiliarity"];
    if (judging) {
      const prefix = set.tok.info.prefixSpecialIds;
      const { judged, malformed } = await judgeCompletions(model(name), judging.prompts, { encode: (t) => set.tok.encodeIds(t), decode, prefix }, {
        chat: judging.chat,
        template: judging.template,
        cfg: judging.llm,
        tries: JUDGE_TRIES,
        completionTokens: JUDGE_COMPLETION_TOKENS,
      });
      const agg = aggregateFamiliarity(
        judged.map((j, i) => ({ subtlety: judging.prompts[i].subtlety, score: j.score })),
        deriveSeed(set.data.seed, "eval:bootstrap", "familiarity"),
      );
      completionFamiliarity = agg.score;
      familiarity = { counts: agg.counts, failed: agg.failed, malformed, bySubtlety: agg.bySubtlety, judgements: judged };
      if (agg.failed) log.warn(`eval: ${name}: ${agg.failed} judgement(s) stayed malformed after ${JUDGE_TRIES} tries; counted as failed, left out of N`);
    }
    const scores: ScoresFile = {
      format: "whp-eval-scores",
      version: EVAL_VERSION,
      model: name,
      identity: model(name).identity,
      evalset: set.hash,
      fingerprint: fingerprint(name),
      scores: { ...scoreItems(it, set.data.seed, baseline), ...(completionFamiliarity ? { completionFamiliarity } : {}) },
      ...(familiarity ? { familiarity } : {}),
      items: it,
    };
    await writeJsonAtomic(files.scores(name), scores);
    out.push(scores);
  }
  if (judging) log.info(`eval: judge calls ${judging.chat.calls}, answered from the cache ${judging.chat.hits}`);
  return out;
}

async function readScores(config: ResolvedConfig, which: string): Promise<ScoresFile> {
  const path = which.endsWith(".json") ? which : evalFiles(config.runDir).scores(which);
  await requireFile(path, `evaluate it first: \`whp eval --model ${which}\``);
  return readJson(path, scoresSchema, "scores");
}

function table(scores: readonly ScoresFile[]): string {
  const hashes = new Set(scores.map((s) => s.evalset));
  if (hashes.size > 1) throw new UserError("these scores come from different evaluation sets", "evaluate every model on the same `whp evalset` output");
  return formatTable(scores.map((s): ScoredModel => ({ model: s.model, scores: s.scores })));
}

async function writeReport(config: ResolvedConfig, blocksToShow: number): Promise<string> {
  const files = evalFiles(config.runDir);
  const scores: ScoresFile[] = [];
  for (const name of EVAL_MODELS) if (await fileExists(files.scores(name))) scores.push(await readScores(config, name));
  if (scores.length === 0) throw new UserError("no scores to report", "run `whp eval` first");
  table(scores); // refuses mixed evaluation sets
  const tok = await ModelTokenizer.load(config.tokenizer);
  const train = await readJsonlAll(artifact(config, "train"), trainRowSchema);
  // The blocks with the most anchor-driven changes are the instructive ones; ties keep file order.
  const picked = [...train].sort((a, b) => b.counts.changed - a.counts.changed).slice(0, blocksToShow);
  const blocks: ReportBlock[] = picked.map((r) => ({ id: r.id, tokens: r.input_ids.map((t) => tok.tokenText(t)), labels: r.labels.map((l) => (l < 0 ? null : tok.tokenText(l))), ids: r.input_ids, labelIds: r.labels }));
  const html = renderReport({ run: config.run.name, models: scores.map((s) => ({ model: s.model, scores: s.scores })), blocks, maxTokens: 160 });
  // Unchanged content is not rewritten, so a repeated demo leaves the run folder untouched.
  if (!(await fileExists(files.report)) || (await readFile(files.report, "utf8")) !== html) await writeFileAtomic(files.report, html);
  return files.report;
}

export function register(program: Command): void {
  withCommon(program.command("evalset").description("write the evaluation prompt set (probability prompts, retain texts, forget positions) under <run>/eval/"), { force: false })
    .addOption(new Option("--size <n>", "probability prompts to sample").default("100"))
    .addOption(new Option("--context <n>", "tokens of context before each anchor").default("8"))
    .addOption(new Option("--retain-fraction <x>", "share of general blocks held out for retain perplexity").default("0.1"))
    .addOption(new Option("--neighbours <n>", "general blocks closest in vocabulary to the forget corpus, held out as neighbour retain texts (0 = none)").default("30"))
    .addOption(new Option("--positions <n>", "forget-corpus positions for the restoration KL").default("1000"))
    .addOption(new Option("--completion-tokens <n>", "tokens each sandbox completion runs for").default("12"))
    .option("-f, --force", "rewrite the set even when it is up to date")
    .option("--familiarity <file>", "also import completion prompts in the authors' published JSON format -> eval/familiarity.jsonl")
    .option("--llm-probability <passages>", "also have the llm: chat model write probability prompts from this many seeded forget passages (--per-passage each), after the mined ones")
    .option("--generate <passages>", "also have the llm: chat model write completion prompts from this many seeded forget passages -> eval/familiarity.jsonl")
    .addOption(new Option("--per-passage <n>", "prompts asked for per passage (--generate, --llm-probability)").default("5"))
    .action(async (opts: CommonOptions & { force?: boolean; familiarity?: string; generate?: string; llmProbability?: string; perPassage: string; size: string; context: string; retainFraction: string; neighbours: string; positions: string; completionTokens: string }) => {
      const { config, log } = await setup(opts);
      const fraction = Number(opts.retainFraction);
      if (!(fraction > 0 && fraction < 1)) throw new UserError(`--retain-fraction: expected a number between 0 and 1, got "${opts.retainFraction}"`);
      const params: EvalParams = {
        size: positiveInt("size", opts.size),
        contextTokens: positiveInt("context", opts.context),
        retainFraction: fraction,
        forgetPositions: positiveInt("positions", opts.positions, 0),
        completionTokens: positiveInt("completion-tokens", opts.completionTokens),
        neighbours: positiveInt("neighbours", opts.neighbours, 0),
        llmPassages: opts.llmProbability === undefined ? 0 : positiveInt("llm-probability", opts.llmProbability),
        llmPerPassage: positiveInt("per-passage", opts.perPassage),
      };
      process.stdout.write(`evalset: wrote ${await writeEvalset(config, params, log, Boolean(opts.force))}\n`);
      if (opts.familiarity) {
        const { prompts, duplicates } = importAuthorsPrompts(await readUserJson(opts.familiarity), basename(opts.familiarity));
        await writeJsonlAtomic(evalFiles(config.runDir).familiarity, prompts);
        process.stdout.write(`evalset: imported ${prompts.length} completion prompts (${duplicates} duplicates dropped) -> eval/familiarity.jsonl\n`);
      } else if (opts.generate) {
        const { prompts, stats } = await generatePrompts(config, positiveInt("generate", opts.generate), positiveInt("per-passage", opts.perPassage));
        await writeJsonlAtomic(evalFiles(config.runDir).familiarity, prompts);
        process.stdout.write(
          `evalset: generated ${prompts.length} completion prompts from ${stats.passages} passages (failed passages ${stats.failedPassages}, malformed answers ${stats.malformed}, give-aways dropped ${stats.givenAway}, duplicates ${stats.duplicates}) -> eval/familiarity.jsonl\n`,
        );
      }
    });

  withCommon(program.command("eval").description("score sandbox models on the evaluation set, or compare scores side by side"), { force: false })
    .addOption(new Option("--model <names...>", `models to evaluate (${EVAL_MODELS.join(", ")})`).default([...EVAL_MODELS]))
    .addOption(new Option("--compare <names...>", "print saved scores side by side (model names or scores files)"))
    .option("-f, --force", "re-score even when the saved scores are up to date")
    .option("--judge", "also complete eval/familiarity.jsonl with each model and have the llm: chat model judge it 0-3")
    .action(async (opts: CommonOptions & { force?: boolean; judge?: boolean; model: string[]; compare?: string[] }) => {
      const { config, log } = await setup(opts);
      if (opts.compare) {
        if (opts.compare.length < 2) throw new UserError("--compare needs at least two models");
        const scores = [];
        for (const c of opts.compare) scores.push(await readScores(config, c));
        process.stdout.write(`${table(scores)}\n`);
        return;
      }
      const unknown = opts.model.filter((m) => !(EVAL_MODELS as readonly string[]).includes(m));
      if (unknown.length) throw new UserError(`--model: unknown model ${unknown.map((u) => `"${u}"`).join(", ")}`, `use one or more of: ${EVAL_MODELS.join(", ")}`);
      const scores = await evaluate(config, opts.model as EvalModelName[], log, Boolean(opts.force), Boolean(opts.judge));
      process.stdout.write(`${table(scores)}\n`);
    });

  withCommon(program.command("report").description("write <run>/report.html: the scores table, charts and sample blocks (self-contained)"), { force: false })
    .addOption(new Option("--blocks <n>", "sample blocks to show token by token").default("3"))
    .action(async (opts: CommonOptions & { blocks: string }) => {
      const { config } = await setup(opts);
      process.stdout.write(`report: wrote ${await writeReport(config, positiveInt("blocks", opts.blocks))}\n`);
    });
}
