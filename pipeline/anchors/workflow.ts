/**
 * The I/O around the pure anchor code: what `whp anchors extract | consolidate | check` do. Files:
 * <runDir>/anchors/raw-answers.jsonl (every answer), extract-report.json, consolidation.json, and the
 * review CSV (llm.reviewFile, default the `dictionary:` file), which is merged, never overwritten.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { resolveFrom, type ResolvedConfig } from "../config.js";
import { fileExists, readJsonlAll, writeFileAtomic, writeJsonAtomic } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";
import type { Logger } from "../io/log.js";
import { decodeCorpusBytes } from "../core/text.js";
import { ChatClient, type ChatEnv } from "../llm/chat.js";
import { llmConfigSchema, type LlmConfig } from "../llm/config.js";
import { loadPrompt } from "../llm/prompts.js";
import { ARTIFACTS } from "../stage.js";
import { parseDictionaryCsv } from "../stages/dictionary.js";
import { readCorpus } from "../stages/ingest.js";
import { documentSchema } from "../schemas/documents.js";
import { blockSchema } from "../schemas/blocks.js";
import { checkEntries, DEFAULT_CHECKS, type Flag } from "./checks.js";
import { consolidate, type ConsolidationReport } from "./consolidate.js";
import { CorpusIndex, loadWordFrequencies, type BlockSpan } from "./corpus-stats.js";
import { loadNameLexicon } from "./name-lexicon.js";
import { buildPassages, checkPlausibility } from "./plausibility.js";
import { extractWithChat, sortAnswers, translateWithChat, type ExtractionStats } from "./extract.js";
import { proposeOffline } from "./heuristic.js";
import { parseAnswer, type Proposal } from "./parse.js";
import { RAW_VERSION, readRawAnswers, requireWhole, type RawAnswer } from "./raw.js";
import { mergeReview, readReviewFile, type MergeReport, type ProposedRow } from "./review-csv.js";
import { describeCoverage, samplePassages, type Coverage, type SourceDocument } from "./sample.js";

export const anchorPaths = (config: ResolvedConfig) => {
  const dir = join(config.runDir, "anchors");
  return {
    dir,
    raw: join(dir, "raw-answers.jsonl"),
    extractReport: join(dir, "extract-report.json"),
    consolidation: join(dir, "consolidation.json"),
    review: config.llm?.reviewFile ? resolveFrom(config.baseDir, config.llm.reviewFile) : config.dictionary,
  };
};

/** The `llm:` section, or its defaults for the offline steps (consolidate and check need no model). */
const llmOrDefaults = (config: ResolvedConfig): LlmConfig => config.llm ?? llmConfigSchema.parse({ provider: "heuristic" });

/** The forget corpus as the run's ingest stage saw it, else read from the config's paths. */
export async function forgetDocuments(config: ResolvedConfig): Promise<SourceDocument[]> {
  const docsPath = join(config.runDir, ARTIFACTS.documents);
  const docs = (await fileExists(docsPath)) ? await readJsonlAll(docsPath, documentSchema) : (await readCorpus(config, "forget")).docs;
  return docs.map((d) => ({ id: d.id, text: d.text }));
}

const blockSpanSchema = blockSchema.pick({ doc: true, span: true });

async function blockSpans(config: ResolvedConfig): Promise<BlockSpan[] | undefined> {
  const p = join(config.runDir, ARTIFACTS.blocks);
  return (await fileExists(p)) ? ((await readJsonlAll(p, blockSpanSchema)) as BlockSpan[]) : undefined;
}

export interface ExtractOutcome {
  coverage: Coverage;
  stats: ExtractionStats;
}

export interface ExtractOptions {
  /** "model": the model finds terms in passages; "heuristic": the offline extractor finds them and a
   * chat model (if configured) is asked only for their generic translations. */
  terms?: "model" | "heuristic";
}

export async function runExtract(config: ResolvedConfig, log: Logger, env: ChatEnv, opts: ExtractOptions = {}): Promise<ExtractOutcome> {
  const llm = config.llm;
  if (!llm) throw new UserError(`${config.configPath} has no llm: section`, "add one (see `whp init`): provider openai, hf or heuristic");
  const docs = await forgetDocuments(config);
  if (docs.length === 0) throw new UserError("the forget corpus is empty", "check corpus.forget in the config");
  const paths = anchorPaths(config);
  let coverage: Coverage;
  let stats: ExtractionStats;
  if (llm.provider === "heuristic" || opts.terms === "heuristic") {
    const general = (await readCorpus(config, "general")).docs.map((d) => d.text);
    const proposals = proposeOffline(docs, general, await loadWordFrequencies(), { maxTerms: llm.heuristic.maxTerms, minCount: llm.heuristic.minCount, seed: config.seed });
    await writeHeuristicAnswer(paths.raw, proposals, config.seed, llm);
    const chars = docs.reduce((n, d) => n + d.text.length, 0);
    coverage = { documents: docs.length, documentsCovered: docs.length, chars, charsCovered: chars, passages: 1 };
    stats = { passages: 1, sent: 0, cached: 0, failed: [], cutOff: 0, proposals: proposals.length, corrupt: 0 };
    if (llm.provider !== "heuristic") {
      const corpus = new CorpusIndex(docs);
      const terms = proposals.map((p) => ({ term: p.term, category: p.category, example: corpus.stats(p.term).examples[0] ?? "" }));
      const client = new ChatClient(llm, env, retryLogger(log));
      stats = await translateWithChat({ client, template: await loadPrompt("translation"), terms, rawPath: paths.raw, log });
    }
  } else {
    const sampled = samplePassages(docs, { budget: llm.passageChars, perDocument: llm.passagesPerDocument, seed: config.seed });
    coverage = sampled.coverage;
    log.info(`anchors extract: ${describeCoverage(coverage)}`);
    const client = new ChatClient(llm, env, retryLogger(log));
    stats = await extractWithChat({ client, template: await loadPrompt("extraction"), passages: sampled.passages, rawPath: paths.raw, log });
  }
  await writeJsonAtomic(paths.extractReport, { version: 1, provider: llm.provider, model: llm.model ?? null, terms: opts.terms ?? "model", coverage, stats });
  return { coverage, stats };
}

const retryLogger = (log: Logger) => ({ onRetry: (r: { attempt: number; delayMs: number; error: unknown }) => log.info(`anchors extract: retry ${r.attempt} in ${Math.round(r.delayMs)} ms (${(r.error as Error).message.split("\n")[0].slice(0, 120)})`) });

/** The offline extractor's proposals as one raw answer (replacing its previous one), so consolidation
 * treats them like any model's, marked "heuristic". */
async function writeHeuristicAnswer(rawPath: string, proposals: readonly Proposal[], seed: number, llm: LlmConfig): Promise<void> {
  const existing = requireWhole(await readRawAnswers(rawPath)).answers.filter((a) => a.source !== "heuristic");
  const line: RawAnswer = { version: RAW_VERSION, passageId: "corpus", requestHash: `heuristic:${seed}:${llm.heuristic.maxTerms}:${llm.heuristic.minCount}`, promptHash: "", model: "heuristic", answeredBy: "heuristic", source: "heuristic", finishReason: null, format: "anchors", text: JSON.stringify({ anchors: proposals }) };
  await writeFileAtomic(rawPath, sortAnswers([...existing, line]).map((a) => `${JSON.stringify(a)}\n`).join(""));
}

export interface ConsolidateOutcome {
  report: ConsolidationReport;
  merge: MergeReport;
  reviewFile: string;
  terms: number;
}

export async function runConsolidate(config: ResolvedConfig, log: Logger, rawFile?: string): Promise<ConsolidateOutcome> {
  const llm = llmOrDefaults(config);
  const paths = anchorPaths(config);
  const rawPath = rawFile ?? paths.raw;
  if (!(await fileExists(rawPath))) throw new UserError(`no raw answers at ${rawPath}`, "run `whp anchors extract` first, or pass --raw <file>");
  const raw = requireWhole(await readRawAnswers(rawPath));
  if (raw.tornLastLine) log.warn(`${rawPath}: the last line is incomplete (a crash mid-write?) and was ignored`);
  const answers = raw.answers.map((a) => ({ passageId: a.passageId, source: a.source, parsed: parseAnswer(a.text, a.format) }));
  const { terms, report } = consolidate(answers, llm.consolidate);
  const corpus = new CorpusIndex(await forgetDocuments(config), await blockSpans(config));
  const freq = await loadWordFrequencies();
  const flags = checkEntries(terms.map((t) => ({ term: t.term, translations: t.candidates.map((c) => c.text), category: t.category })), corpus, freq, DEFAULT_CHECKS);
  const flagsByTerm = groupFlags(flags);
  const rows: ProposedRow[] = terms.map((t) => {
    const s = corpus.stats(t.term);
    return { term: t.term, category: t.category, candidates: t.candidates, source: t.sources.join(" "), occurrences: s.occurrences, blocks: s.blocks, examples: s.examples, flags: flagsByTerm.get(t.term) ?? [] };
  });
  const existing = (await fileExists(paths.review)) ? readReviewFile((await readText(paths.review)).stored, paths.review) : undefined;
  const merged = mergeReview(existing, rows, { newStatus: llm.autoApprove ? "approved" : "pending" });
  await writeFileAtomic(paths.review, merged.text);
  await writeJsonAtomic(paths.consolidation, { version: 1, raw: rawFile ? "given" : "run", report, merge: merged.report, terms: terms.length });
  return { report, merge: merged.report, reviewFile: paths.review, terms: terms.length };
}

function groupFlags(flags: readonly Flag[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const f of flags) m.set(f.term, [...(m.get(f.term) ?? []), `${f.kind}: ${f.message}`]);
  return m;
}

/** The review file's text exactly as stored: line endings and a byte order mark are kept (the merge
 * writes them back), unlike corpus text, which is normalised. */
async function readText(file: string): Promise<{ stored: string; normalised: string }> {
  const bytes = await readFile(file);
  const decoded = decodeCorpusBytes(bytes);
  if (!decoded.ok) throw new UserError(`${file} ${decoded.problem}`, decoded.fix);
  return { stored: new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes), normalised: decoded.text };
}

export interface CheckOutcome {
  file: string;
  rows: number;
  problems: string[];
  flags: Flag[];
  /** What the plausibility checks took as passages: the run's blocks, or windows of the documents. */
  passages: { count: number; from: "blocks" | "windows" };
  /** Terms the corpus writes with other apostrophes or quotes than the file: each written form's count. */
  variants: { term: string; line?: number; forms: Record<string, number> }[];
}

/** Validates the review file as the dictionary stage will read it, then flags doubtful rows. */
export async function runCheck(config: ResolvedConfig): Promise<CheckOutcome> {
  const file = anchorPaths(config).review;
  if (!(await fileExists(file))) throw new UserError(`review file not found: ${file}`, "run `whp anchors consolidate`, or fix llm.reviewFile / dictionary in the config");
  const text = await readText(file);
  const problems: string[] = [];
  try {
    // Exactly what the dictionary stage parses (BOM dropped, line endings normalised).
    parseDictionaryCsv(text.normalised, file);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    problems.push(...e.message.split("\n").slice(1).map((l) => `${file}:${l.trim().replace(/^line (\d+): /, "$1: ")}`));
    if (problems.length === 0) problems.push(e.message);
  }
  const review = readReviewFile(text.stored, file);
  const entries = review.rows
    .filter((r) => (r.cells.status ?? "").trim().toLowerCase() !== "rejected" && (r.cells.term ?? "").trim())
    .map((r) => ({ term: r.cells.term.trim(), translations: (r.cells.translations ?? "").split("|").map((t) => t.trim()).filter(Boolean), category: (r.cells.category ?? "").trim(), line: r.line }));
  const docs = await forgetDocuments(config);
  const spans = await blockSpans(config);
  const freq = await loadWordFrequencies();
  const corpus = new CorpusIndex(docs, spans);
  const flags = checkEntries(entries, corpus, freq, DEFAULT_CHECKS);
  const variants = entries.filter((e) => /['"\u2018-\u201f\u02bc\u2032\u2033`]/.test(e.term)).map((e) => ({ term: e.term, line: e.line, forms: corpus.writtenForms(e.term) })).filter((v) => Object.keys(v.forms).some((f) => f !== v.term));
  const passages = buildPassages(docs, entries.map((e) => e.term), spans);
  for (const f of checkPlausibility(entries, passages, await loadNameLexicon(), freq)) flags.push({ term: f.term, line: f.line, kind: f.kind, message: f.message, suggestions: f.suggestions });
  return { file, rows: review.rows.length, problems, flags, passages: { count: passages.length, from: spans ? "blocks" : "windows" }, variants };
}
