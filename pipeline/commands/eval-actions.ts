/** The actions of `whp evalset`, `whp eval` and `whp report` (registered in commands/eval.ts, which imports this
 * module only when one of them runs: it loads the tokenizer, the stages and the evaluation code). */
import { mkdir, readdir, readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { ResolvedConfig } from "../config.js";
import { type CommonOptions, setup } from "./common.js";
import { fileExists, fileSha256, readJson, toJsonlText, writeFileAtomic, writeJsonAtomic, writeJsonlAtomic } from "../io/artifacts.js";
import { sha256 } from "../core/hash.js";
import { UserError } from "../core/errors.js";
import type { Logger } from "../io/log.js";
import { canonicalJson } from "../core/hash.js";
import { ModelTokenizer } from "../io/tokenizer.js";
import { type EvalParams, evalFiles, evalsetSchema, scoresSchema, EVAL_VERSION, type ScoresFile } from "../eval/files.js";
import { readArtifact } from "../schemas/registry.js";
import { describeDuplicate, importAuthorsPrompts } from "../eval/familiarity.js";
import { parsePlainProbabilityPrompts, tagPlainPrompts } from "../eval/import-probability.js";
import { auditReport } from "../eval/judge-audit.js";
import { generatePrompts, probabilityLlmIdentity, readUserJson, writeProbabilityPrompts } from "../eval/llm-io.js";
import { NEIGHBOUR_DEFAULTS, pickNeighbours } from "../eval/neighbours.js";
import { holdOutGeneral, mineProbabilityPrompts, sampleForgetPositions } from "../eval/prompts.js";
import { renderReport, type ReportBlock } from "../eval/report.js";
import { evaluate, requireFile } from "../eval/evaluate.js";
import { defaultModelNames } from "../eval/targets.js";
import { EVAL_MODELS } from "../eval/sandbox.js";
import { formatTable, type ScoredModel } from "../eval/table.js";
import { ARTIFACTS } from "../stage.js";
import { parseDictionaryCsv } from "../stages/dictionary.js";
import { dictionarySchema } from "../schemas/dictionary.js";

const artifact = (config: ResolvedConfig, name: keyof typeof ARTIFACTS) => join(config.runDir, ARTIFACTS[name]);
/** The run folder as the artifact registry sees it. */
const runArtifacts = (config: ResolvedConfig) => ({ path: (name: keyof typeof ARTIFACTS) => artifact(config, name) });

function positiveInt(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`--${name}: expected an integer >= ${min}, got "${v}"`);
  return n;
}

const RUN_ARTIFACTS = ["blocks", "generalBlocks", "aligned", "dictionary", "train"] as const;

/** The evaluation set, computed and checked, with its writes held back until `write` (so a failure
 * anywhere, in an import too, leaves every file as it was). */
interface PreparedSet {
  dir: string;
  upToDate: boolean;
  write(): Promise<void>;
}

async function prepareEvalset(config: ResolvedConfig, params: EvalParams, log: Logger, force: boolean, imports: Record<string, string>): Promise<PreparedSet> {
  for (const name of RUN_ARTIFACTS) await requireFile(artifact(config, name), "run the pipeline first (`whp run`)");
  const files = evalFiles(config.runDir);
  const tok = await ModelTokenizer.load(config.tokenizer);
  const blocks = await readArtifact(runArtifacts(config), "blocks");
  const aligned = await readArtifact(runArtifacts(config), "aligned");
  const general = await readArtifact(runArtifacts(config), "generalBlocks");
  const dict = await readArtifact(runArtifacts(config), "dictionary");
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
  const sameImports = canonicalJson(existing?.imports ?? {}) === canonicalJson(imports);
  if (!force && existing && sameImports && existing.seed === config.seed && canonicalJson([existing.params, existing.sources, existing.llm ?? null]) === canonicalJson([params, sources, llmIdentity ?? null]) && (await fileExists(files.probability)) && (await fileExists(files.retain)) && (await fileExists(files.neighbour))) {
    return { dir: files.dir, upToDate: true, write: async () => {} };
  }
  const rows: Record<string, unknown>[] = [];
  for (const p of prompts) rows.push({ ...p, text: await tok.decode(p.context_ids), tagged_text: p.tagged.map((t) => tok.tokenText(t)) });
  let llmStats: Record<string, number> = {};
  if (params.llmPassages > 0) {
    const taken = new Set(prompts.map((p) => p.context_ids.join(",")));
    const written = await writeProbabilityPrompts(config, { blocks, aligned, dictionary: dict.entries, tok, taken }, params.llmPassages, params.llmPerPassage);
    for (const p of written.prompts) rows.push({ ...p, tagged_text: p.tagged.map((t) => tok.tokenText(t)) });
    llmStats = Object.fromEntries(Object.entries(written.stats).map(([k, v]) => [`llm${k[0].toUpperCase()}${k.slice(1)}`, v]));
    process.stdout.write(`evalset: the llm wrote ${written.stats.written} probability prompts from ${written.stats.passages} passages, kept ${written.stats.kept} (unknown term ${written.stats.unknownTerm}, give-aways ${written.stats.givenAway}, token-boundary mismatches ${written.stats.boundaryMismatch}, shared first token ${written.stats.sharedFirstToken}, duplicates ${written.stats.duplicates}, malformed answers ${written.stats.malformed}, failed passages ${written.stats.failedPassages}) -> eval/probability.jsonl\n`);
  }
  const forgetPositions = sampleForgetPositions(blocks, params.forgetPositions, config.seed);
  const write = async () => {
    await mkdir(files.dir, { recursive: true });
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
      ...(Object.keys(imports).length ? { imports } : {}),
      forgetPositions,
      references: dict.entries.map((e) => e.term).sort(),
    });
    log.info(`evalset: ${prompts.length} probability prompts (of ${stats.candidates} candidates), ${heldOut.length} retain texts and ${nb.ids.length} neighbour texts held out of ${general.length} general blocks`);
  };
  return { dir: files.dir, upToDate: false, write };
}

/** Writes `text` unless the file already holds exactly it; true when it wrote. */
async function writeIfChanged(path: string, text: string): Promise<boolean> {
  if ((await fileExists(path)) && (await readFile(path, "utf8")) === text) return false;
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, text);
  return true;
}

/** The dictionary imported probability prompts are tagged with: the run's when it has one, else the
 * approved rows of the config's dictionary file (an import needs no finished run). */
async function dictionaryForTagging(config: ResolvedConfig): Promise<{ term: string; translations: string[] }[]> {
  const path = artifact(config, "dictionary");
  if (await fileExists(path)) return (await readJson(path, dictionarySchema, "dictionary")).entries;
  const file = config.dictionary;
  await requireFile(file, "set dictionary: in the config to the anchors CSV (probability prompts without targets are tagged with its terms)");
  return parseDictionaryCsv(await readFile(file, "utf8"), file).entries;
}

/** Models with a scores file: the sandbox's in their usual order, then served ones by name. */
async function savedScoreNames(dir: string): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).flatMap((f) => (/^scores-(.+)\.json$/.exec(f)?.slice(1, 2) ?? []));
  const rank = (n: string) => ((EVAL_MODELS as readonly string[]).includes(n) ? (EVAL_MODELS as readonly string[]).indexOf(n) : EVAL_MODELS.length);
  return names.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
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

async function writeReport(config: ResolvedConfig, blocksToShow: number, log: Logger): Promise<{ path: string; wrote: boolean }> {
  const files = evalFiles(config.runDir);
  await requireFile(files.evalset, "write the evaluation set first: `whp evalset`, then `whp eval`");
  const current = await fileSha256(files.evalset);
  const scores: ScoresFile[] = [];
  for (const name of await savedScoreNames(files.dir)) {
    const s = await readScores(config, name);
    // Scores of an earlier evaluation set are not comparable; they stay on disk but out of the report.
    if (s.evalset === current) scores.push(s);
    else log.warn(`report: left out scores-${name}.json: it scores an earlier evaluation set (re-run \`whp eval --model ${name}\` to include it)`);
  }
  if (scores.length === 0) throw new UserError("no scores of the current evaluation set to report", "run `whp eval` first");
  const tok = await ModelTokenizer.load(config.tokenizer);
  const train = await readArtifact(runArtifacts(config), "train");
  // The blocks with the most anchor-driven changes are the instructive ones; ties keep file order.
  const picked = [...train].sort((a, b) => b.counts.changed - a.counts.changed).slice(0, blocksToShow);
  const blocks: ReportBlock[] = picked.map((r) => ({ id: r.id, tokens: r.input_ids.map((t) => tok.tokenText(t)), labels: r.labels.map((l) => (l < 0 ? null : tok.tokenText(l))), ids: r.input_ids, labelIds: r.labels }));
  const html = renderReport({ run: config.run.name, models: scores.map((s) => ({ model: s.model, scores: s.scores })), blocks, maxTokens: 160 });
  // Unchanged content is not rewritten, so a repeated demo leaves the run folder untouched.
  return { path: files.report, wrote: await writeIfChanged(files.report, html) };
}

export type EvalsetOptions = CommonOptions & { force?: boolean; familiarity?: string; probability?: string; generate?: string; llmProbability?: string; perPassage: string; size: string; context: string; retainFraction: string; neighbours: string; positions: string; completionTokens: string };
export type EvalOptions = CommonOptions & { force?: boolean; judge?: boolean; audit?: string; model?: string[]; baseline: string; compare?: string[] };
export type ReportOptions = CommonOptions & { blocks: string };

export async function evalsetAction(opts: EvalsetOptions): Promise<void> {
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
  const files = evalFiles(config.runDir);
  // Everything is read, validated and computed first; only then is anything written.
  const familiarity = opts.familiarity ? importAuthorsPrompts(await readUserJson(opts.familiarity), basename(opts.familiarity)) : undefined;
  let probability: { text: string; summary: string; noTarget: string[] } | undefined;
  if (opts.probability) {
    const plain = parsePlainProbabilityPrompts(await readUserJson(opts.probability), basename(opts.probability));
    const tok = await ModelTokenizer.load(config.tokenizer);
    const tagged = await tagPlainPrompts(plain, await dictionaryForTagging(config), { encode: (t) => tok.encodeIds(t), prefix: tok.info.prefixSpecialIds }, basename(opts.probability));
    const st = tagged.stats;
    probability = {
      text: toJsonlText(tagged.prompts.map((p) => ({ ...p, tagged_text: p.tagged.map((t) => tok.tokenText(t)) }))),
      summary: `${st.kept} of ${st.prompts} probability prompts from ${basename(opts.probability)} (${st.withTargets} with their own targets, the rest tagged with the dictionary's terms; ${st.noTarget} got no target and were left out, duplicates ${st.duplicates}; terms left out: given away by the prompt ${st.givenAway}, token-boundary mismatches ${st.boundaryMismatch}, shared first token with a translation ${st.sharedFirstToken})`,
      noTarget: tagged.noTarget,
    };
  }
  const imports: Record<string, string> = {};
  const importedOnDisk = (await fileExists(files.probabilityImported)) ? await readFile(files.probabilityImported, "utf8") : undefined;
  const importedText = probability?.text ?? importedOnDisk;
  if (importedText !== undefined) imports[basename(files.probabilityImported)] = sha256(importedText);
  const runReady = (await Promise.all(RUN_ARTIFACTS.map((n) => fileExists(artifact(config, n))))).every(Boolean);
  const importing = Boolean(opts.familiarity || opts.probability);
  // An import needs nothing from the run; mining the rest of the set does.
  const set = runReady || !importing ? await prepareEvalset(config, params, log, Boolean(opts.force), imports) : undefined;
  const generated = opts.generate && !familiarity ? await generatePrompts(config, positiveInt("generate", opts.generate), positiveInt("per-passage", opts.perPassage)) : undefined;

  if (familiarity) {
    const { prompts, duplicates, withoutSubtlety, givenAway } = familiarity;
    const wrote = await writeIfChanged(files.familiarity, toJsonlText(prompts));
    const notes = [
      `${duplicates.length} duplicates dropped`,
      withoutSubtlety ? `${withoutSubtlety} without a subtlety grade: no per-subtlety breakdown${withoutSubtlety < prompts.length ? " for them" : ""}` : "",
      givenAway.prompts ? `${givenAway.prompts} contain ${givenAway.references} of their own references, which the leak check does not count` : "",
    ].filter(Boolean);
    process.stdout.write(`evalset: ${wrote ? "imported" : "up to date:"} ${prompts.length} completion prompts (${notes.join("; ")}) -> eval/familiarity.jsonl\n`);
    for (const d of duplicates) process.stdout.write(`evalset:   duplicate: ${describeDuplicate(d)}\n`);
  }
  if (probability) {
    const wrote = await writeIfChanged(files.probabilityImported, probability.text);
    process.stdout.write(`evalset: ${wrote ? "imported" : "up to date:"} ${probability.summary} -> eval/probability-imported.jsonl\n`);
    for (const t of probability.noTarget) process.stdout.write(`evalset:   no target: ${JSON.stringify(t)}\n`);
  }
  if (generated) {
    const { prompts, stats } = generated;
    const wrote = await writeIfChanged(files.familiarity, toJsonlText(prompts));
    process.stdout.write(
      `evalset: ${wrote ? "generated" : "up to date:"} ${prompts.length} completion prompts from ${stats.passages} passages (failed passages ${stats.failedPassages}, malformed answers ${stats.malformed}, give-aways dropped ${stats.givenAway}, duplicates ${stats.duplicates}) -> eval/familiarity.jsonl\n`,
    );
  }
  if (set) {
    await set.write();
    process.stdout.write(set.upToDate ? `evalset: up to date (${set.dir})\n` : `evalset: wrote ${set.dir}\n`);
  } else {
    process.stdout.write("evalset: the run is not finished, so only the import was done; `whp run`, then `whp evalset` mines the rest of the set\n");
  }
}

export async function evalAction(opts: EvalOptions): Promise<void> {
  const { config, log } = await setup(opts);
  if (opts.audit) {
    // The seed is the run's: the judge-only familiarity it prints matches the scores file's.
    process.stdout.write(`${await auditReport(config.runDir, resolve(opts.audit), config.seed)}\n`);
    return;
  }
  if (opts.compare) {
    if (opts.compare.length < 2) throw new UserError("--compare needs at least two models");
    const scores = [];
    for (const c of opts.compare) scores.push(await readScores(config, c));
    process.stdout.write(`${table(scores)}\n`);
    return;
  }
  const scores = await evaluate(config, opts.model ?? defaultModelNames(config), { log, force: Boolean(opts.force), judge: Boolean(opts.judge), baseline: opts.baseline });
  process.stdout.write(`${table(scores)}\n`);
}

export async function reportAction(opts: ReportOptions): Promise<void> {
  const { config, log } = await setup(opts);
  const r = await writeReport(config, positiveInt("blocks", opts.blocks), log);
  process.stdout.write(r.wrote ? `report: wrote ${r.path}\n` : `report: up to date (${r.path})\n`);
}
