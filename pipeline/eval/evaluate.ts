/**
 * `whp eval`'s work: loads the evaluation set, scores each named model on it (sandbox n-grams in
 * process, served models over HTTP), and writes one scores file per model. The I/O edge around the
 * pure runner (runner.ts) and scores (scores.ts).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResolvedConfig } from "../config.js";
import { fileExists, fileSha256, readJson, readJsonlAll, writeJsonAtomic } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";
import { deriveSeed, hashJson, sha256 } from "../core/hash.js";
import type { Logger } from "../io/log.js";
import { ModelTokenizer } from "../io/tokenizer.js";
import type { NgramModel } from "../models/ngram.js";
import type { TokenizerSample } from "../models/preflight.js";
import { createServedSource } from "../models/registry.js";
import { ARTIFACTS } from "../stage.js";
import { aggregateFamiliarity } from "./familiarity.js";
import { referenceLeaks } from "./scores.js";
import { EVAL_VERSION, evalFiles, evalsetSchema, probabilityPromptSchema, retainRowSchema, type ScoresFile, scoresSchema } from "./files.js";
import { readArtifact } from "../schemas/registry.js";
import { judgeCompletions } from "./judge.js";
import { JUDGE_COMPLETION_TOKENS, JUDGE_TRIES, judgeSetup } from "./llm-io.js";
import { collectItems, type EvalItems, type EvalSetData, scoreItems } from "./runner.js";
import { type EvalModelName, type SandboxData, sandboxSpec, trainSandboxModel, type TrainRow } from "./sandbox.js";
import { inProcessModel, type ScoringModel, servedModel } from "./scoring-model.js";
import { type EvalTarget, parseInlineModel, resolveTargets } from "./targets.js";

const artifact = (config: ResolvedConfig, name: keyof typeof ARTIFACTS) => join(config.runDir, ARTIFACTS[name]);
/** The run folder as the artifact registry sees it. */
const runArtifacts = (config: ResolvedConfig) => ({ path: (name: keyof typeof ARTIFACTS) => artifact(config, name) });

export async function requireFile(path: string, fix: string): Promise<void> {
  if (!(await fileExists(path))) throw new UserError(`${path} does not exist`, fix);
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
  // Imported probability prompts count only as the set recorded them.
  const imported = [];
  for (const [name, sha] of Object.entries(set.imports ?? {})) {
    const path = join(files.dir, name);
    await requireFile(path, "re-run `whp evalset --probability <file>`");
    if (sha256(await readFile(path)) !== sha) throw new UserError(`eval/${name} changed since the evaluation set was written`, "re-run `whp evalset`");
    imported.push(...(await readJsonlAll(path, probabilityPromptSchema)));
  }
  if (!set.imports && (await fileExists(files.probabilityImported))) throw new UserError(`eval/probability-imported.jsonl is not part of the evaluation set`, "re-run `whp evalset` to include it (or delete the file)");
  const held = new Set([...set.heldOutGeneral, ...set.neighbourGeneral]);
  const general = (await readArtifact(runArtifacts(config), "generalBlocks")).filter((g) => !held.has(g.id));
  const tok = await ModelTokenizer.load(config.tokenizer);
  return {
    data: {
      probability: [...(await readJsonlAll(files.probability, probabilityPromptSchema)), ...imported],
      retain: await readJsonlAll(files.retain, retainRowSchema),
      neighbour: await readJsonlAll(files.neighbour, retainRowSchema),
      forget: await readArtifact(runArtifacts(config), "blocks"),
      forgetPositions: set.forgetPositions,
      references: set.references,
      completionTokens: set.params.completionTokens,
      seed: set.seed,
      decode: (ids) => tok.decode(ids),
    },
    hash: await fileSha256(files.evalset),
    general,
    train: await readArtifact(runArtifacts(config), "train"),
    tok,
  };
}

/** What the sandbox models train on: the set's general blocks (held-out texts left out), the forget
 * blocks, and train.jsonl. */
const sandboxData = (set: LoadedSet): SandboxData => ({ vocabSize: set.tok.info.vocabSize, general: set.general, forget: set.data.forget, train: set.train });

/** The sandbox's n-grams as `whp eval` trains them (held-out texts left out; `unlearned` trained on
 * train.jsonl's labels), for serving them over HTTP (`whp serve --sandbox`) and for tests. */
export async function loadSandboxModels(config: ResolvedConfig, names: readonly EvalModelName[]): Promise<Record<string, NgramModel>> {
  const set = await loadEvalset(config);
  return Object.fromEntries(names.map((n) => [n, trainSandboxModel(n, config.models, sandboxData(set))]));
}

/** A few retain texts tokenized locally, for the servers' tokenizer check: the set's token ids are
 * only meaningful to a model with the run's tokenizer. */
async function tokenizerSamples(set: LoadedSet): Promise<TokenizerSample[]> {
  const prefix = set.tok.info.prefixSpecialIds;
  const out: TokenizerSample[] = [];
  for (const b of set.data.retain.slice(0, 3)) {
    const text = await set.tok.decode(b.input_ids.slice(prefix.length, prefix.length + 96));
    if (text.trim()) out.push({ text, ids: [...prefix, ...(await set.tok.encodeIds(text))] });
  }
  return out;
}

interface Scorer {
  /** What the model's scores depend on besides the set (its spec or served identity). */
  key: unknown;
  /** The model, made on first use: a sandbox n-gram is trained, a served model passes its preflight.
   * Up-to-date scores need only the key, so they never train a model or reach a server. */
  open(): Promise<ScoringModel>;
}

export interface EvaluateOptions {
  log: Logger;
  force: boolean;
  judge: boolean;
  /** The model the relative perplexities are taken against (resolved like --model). */
  baseline: string;
}

/** Scores the named models (sandbox or served); the baseline is scored too when the relative figures
 * need it. Returns the scores in the order asked. */
export async function evaluate(config: ResolvedConfig, names: readonly string[], opts: EvaluateOptions): Promise<ScoresFile[]> {
  const { log } = opts;
  const set = await loadEvalset(config);
  const files = evalFiles(config.runDir);
  const targets = await resolveTargets(config, names);
  // --baseline names one of the evaluated models, or another model resolved the same way.
  const baselineName = parseInlineModel(opts.baseline)?.name ?? opts.baseline;
  const baselineTarget = targets.find((t) => t.name === baselineName) ?? (await resolveTargets(config, [opts.baseline]))[0];
  const trainSha = await fileSha256(artifact(config, "train"));
  const judging = opts.judge ? await judgeSetup(config, (m) => log.warn(m)) : undefined;
  const sandbox = sandboxData(set);
  const ngrams = new Map<EvalModelName, NgramModel>();
  const ngram = (name: EvalModelName) => {
    let m = ngrams.get(name);
    if (!m) ngrams.set(name, (m = trainSandboxModel(name, config.models, sandbox)));
    return m;
  };
  const decode = set.data.decode;
  const scorers = new Map<string, Scorer>();
  const scorerOf = async (t: EvalTarget): Promise<Scorer> => {
    let s = scorers.get(t.name);
    if (s) return s;
    if (t.kind === "sandbox") {
      const specs = [t.name, "baseline", "oracle"].map((n) => sandboxSpec(n as EvalModelName, config.models));
      const name = t.name;
      let model: Promise<ScoringModel> | undefined;
      s = { key: { train: trainSha, specs }, open: () => (model ??= Promise.resolve(inProcessModel(ngram(name), decode))) };
    } else {
      const source = createServedSource(t.spec, { role: t.name, section: t.section, vocabSize: set.tok.info.vocabSize, cacheDir: join(config.runDir, ".whp", "cache"), warn: (m) => log.warn(m) });
      let model: Promise<ScoringModel> | undefined;
      const open = async () => {
        await source.preflight({ topK: 1, samples: await tokenizerSamples(set) });
        return servedModel(source, (text) => set.tok.encodeIds(text));
      };
      s = { key: source.identity, open: () => (model ??= open()) };
    }
    scorers.set(t.name, s);
    return s;
  };
  // Relative figures compare like with like: a served model against a sandbox n-gram says nothing.
  const baselineFor = (t: EvalTarget) => (t.kind === baselineTarget.kind ? baselineTarget : undefined);
  const fingerprint = async (t: EvalTarget) => {
    const b = baselineFor(t);
    return hashJson({ version: EVAL_VERSION, evalset: set.hash, model: t.name, key: (await scorerOf(t)).key, baseline: b ? { name: b.name, key: (await scorerOf(b)).key } : null, judge: judging?.identity ?? null });
  };
  if (!opts.force) {
    const cached: ScoresFile[] = [];
    for (const t of targets) {
      const s = (await fileExists(files.scores(t.name))) ? await readJson(files.scores(t.name), scoresSchema, "scores").catch(() => undefined) : undefined;
      if (s && s.fingerprint === (await fingerprint(t))) cached.push(s);
    }
    if (cached.length === targets.length) {
      log.info("eval: scores up to date");
      return cached;
    }
  }
  const oracle = targets.some((t) => t.kind === "sandbox") ? inProcessModel(ngram("oracle"), decode) : undefined;
  const items = new Map<string, EvalItems>();
  const itemsOf = async (t: EvalTarget) => {
    let it = items.get(t.name);
    if (!it) {
      const t0 = performance.now();
      it = await collectItems(await (await scorerOf(t)).open(), t.kind === "sandbox" ? oracle : undefined, set.data);
      items.set(t.name, it);
      log.info(`eval: ${t.name} scored in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    return it;
  };
  if (targets.some((t) => t.kind !== baselineTarget.kind)) log.info(`eval: relative perplexities are left out for models of another kind than the baseline "${baselineTarget.name}" (pass --baseline <a served model>)`);
  const out: ScoresFile[] = [];
  for (const t of targets) {
    const it = await itemsOf(t);
    const b = baselineFor(t);
    const baseline = b ? await itemsOf(b) : undefined;
    const model = await (await scorerOf(t)).open();
    let familiarity: ScoresFile["familiarity"];
    let completionFamiliarity: ScoresFile["scores"]["completionFamiliarity"];
    if (judging) {
      const { judged, malformed } = await judgeCompletions(model, judging.prompts, { encode: (text) => set.tok.encodeIds(text), prefix: set.tok.info.prefixSpecialIds }, {
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
      // The judge-free leak check beside the judge: a reference the prompt already gave away is not counted.
      const leaks = judged.map((j, i) => referenceLeaks(judging.prompts[i].prompt, j.completion, judging.prompts[i].references));
      familiarity = {
        counts: agg.counts,
        failed: agg.failed,
        malformed,
        bySubtlety: agg.bySubtlety,
        leaks: { completions: leaks.filter((l) => l.leaked.length > 0).length, excludedReferences: leaks.reduce((a, l) => a + l.excluded.length, 0), promptsGivingAway: leaks.filter((l) => l.excluded.length > 0).length },
        judgements: judged.map((j, i) => ({ ...j, leaked: leaks[i].leaked })),
      };
      if (familiarity.leaks?.excludedReferences) log.info(`eval: ${t.name}: ${familiarity.leaks.excludedReferences} reference(s) in ${familiarity.leaks.promptsGivingAway} prompt(s) were already in the prompt and are not counted as leaks`);
      if (Object.keys(agg.bySubtlety).length === 0) log.info(`eval: ${t.name}: the completion prompts carry no subtlety grades: no per-subtlety breakdown`);
      if (agg.failed) log.warn(`eval: ${t.name}: ${agg.failed} judgement(s) stayed malformed after ${JUDGE_TRIES} tries; counted as failed, left out of N`);
    }
    const scores: ScoresFile = {
      format: "whp-eval-scores",
      version: EVAL_VERSION,
      model: t.name,
      identity: model.identity,
      evalset: set.hash,
      fingerprint: await fingerprint(t),
      scores: { ...scoreItems(it, set.data.seed, baseline), ...(completionFamiliarity ? { completionFamiliarity } : {}) },
      ...(familiarity ? { familiarity } : {}),
      items: it,
    };
    await writeJsonAtomic(files.scores(t.name), scores);
    out.push(scores);
  }
  if (judging) log.info(`eval: judge calls ${judging.chat.calls}, answered from the cache ${judging.chat.hits}${judging.chat.corrupt ? `, ${judging.chat.corrupt} corrupt cache entr(ies) asked again` : ""}`);
  return out;
}
