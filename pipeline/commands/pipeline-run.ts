/**
 * The actions of the pipeline's own commands (`run`, `check`, every stage, `inspect`, `init`),
 * imported by cli.ts only when one of them runs: they load the stages, the tokenizer and the model
 * providers, which `whp --help` must not wait for (issue 17).
 */
import { copyFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { z } from "zod";
import type { ResolvedConfig } from "../config.js";
import { fileExists, readJson } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";
import { demonstrationNote } from "../export/provenance.js";
import { assertInputs } from "../check.js";
import { describeBlock } from "../inspect.js";
import { packageRoot } from "../paths.js";
import { readArtifact } from "../schemas/registry.js";
import { ARTIFACTS, createContext, runStage, type StageOutcome } from "../stage.js";
import { loadStage } from "../stages/load.js";
import { STAGES } from "../stages/index.js";
import { TOOL } from "../version.js";
import { type CommonOptions, setup } from "./common.js";

export async function initAction(file: string): Promise<void> {
  if (await fileExists(file)) throw new UserError(`${file} already exists`, "choose another file name, or delete it first");
  await copyFile(join(packageRoot(), "templates", "whp.config.yaml"), file);
  process.stdout.write(`wrote ${file}: edit the paths, check them with \`whp check --config ${file}\`, then \`whp run --config ${file}\`\n`);
}

export async function checkAction(opts: CommonOptions): Promise<void> {
  const { config } = await setup(opts);
  await assertInputs(config);
  process.stdout.write(`${config.configPath}: ok (config, corpus files, tokenizer, dictionary)\n`);
}

/** A stage command without options of its own: run the stage (or skip it when it is up to date). */
export async function stageAction(name: string, opts: CommonOptions): Promise<void> {
  const stage = await loadStage(name);
  const { config, log } = await setup(opts);
  const outcome = await runStage(stage, createContext(config, log), { force: opts.force, verify: opts.verify });
  process.stdout.write(`${stage.name}: ${outcome.skipped ? "up to date" : `done in ${outcome.seconds.toFixed(1)} s`}\n`);
}

export async function inspectAction(blockId: string, opts: CommonOptions & { rows: string }): Promise<void> {
  const rows = Number(opts.rows);
  if (!/^\d+$/.test(opts.rows.trim()) || !(rows >= 1)) throw new UserError(`--rows: expected a whole number of positions (1 or more), got "${opts.rows}"`, "e.g. --rows 36");
  const { config, log } = await setup(opts);
  process.stdout.write(await describeBlock(createContext(config, log), blockId, rows));
}

export async function runAll(opts: CommonOptions): Promise<void> {
  const t0 = performance.now();
  const { config, log } = await setup(opts);
  // The same checks as `whp check`, so a bad input is found before ingest writes anything.
  await assertInputs(config);
  const ctx = createContext(config, log);
  const outcomes: StageOutcome[] = [];
  for (const stage of STAGES) outcomes.push(await runStage(stage, ctx, { force: opts.force, verify: opts.verify }));
  await printSummary(config, outcomes, (performance.now() - t0) / 1000);
}

async function printSummary(config: ResolvedConfig, outcomes: StageOutcome[], seconds: number): Promise<void> {
  const m = await readArtifact({ path: (name) => join(config.runDir, ARTIFACTS[name]) }, "manifest");
  const c = m.counts;
  const pct = (x: number, of = c.positions) => `${((100 * x) / Math.max(1, of)).toFixed(1)}%`;
  const trained = c.positions - c.masked;
  const ran = outcomes.filter((o) => !o.skipped).map((o) => `${o.stage} ${o.seconds.toFixed(1)}s`);
  const lines = [
    `whp ${TOOL.version}: run "${config.run.name}" -> ${config.runDir}`,
    `  blocks ${c.blocks}, tokens ${c.tokens}, anchor occurrences ${c.anchorOccurrences} (untranslated ${c.unalignedOccurrences})`,
    `  positions ${c.positions}: masked ${c.masked} (${pct(c.masked)}), trained ${trained}`,
    `  label differs from the original token at ${c.changed} positions: ${pct(c.changed, trained)} of the ${trained} trained labels, ${pct(c.changed)} of all ${c.positions} positions`,
    `  uncertified top-${m.topK} labels per alpha ${m.alphas.all.map((a, i) => `${a}: ${c.uncertified[i]}`).join(", ")}`,
    `  stages run: ${ran.length ? ran.join(", ") : "none (everything up to date)"}`,
    `  wall time ${seconds.toFixed(1)} s`,
  ];
  lines.push(...(await dictionaryWarnings(config)).map((w) => `  warning: ${w}`));
  const demo = demonstrationNote(m.embeddedModels ?? []);
  if (demo) lines.push(`  note: ${demo}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

const dictionaryStatsSchema = z.object({
  statusColumn: z.boolean().optional(),
  terms: z.number().optional(),
  blankStatus: z.array(z.object({ term: z.string(), line: z.number() })).default([]),
  emptyCandidates: z.array(z.object({ term: z.string(), line: z.number() })).default([]),
  caseDuplicates: z.array(z.object({ term: z.string(), other: z.string(), line: z.number() })).default([]),
});
const translateStatsSchema = z.object({ termsNeverFound: z.array(z.string()).default([]) });

/** What the dictionary and translate stages counted that a person should see: rows left out, terms
 * that never occur, near-duplicates, empty candidates (their stats files hold the full lists). */
export async function dictionaryWarnings(config: ResolvedConfig): Promise<string[]> {
  const stats = join(config.runDir, "stats");
  const d = await readJson(join(stats, "dictionary.json"), dictionaryStatsSchema, "dictionary stats").catch(() => undefined);
  const t = await readJson(join(stats, "translate.json"), translateStatsSchema, "translate stats").catch(() => undefined);
  const file = relative(process.cwd(), config.dictionary) || config.dictionary;
  const some = <T>(xs: readonly T[], show: (x: T) => string) => `${xs.slice(0, 5).map(show).join(", ")}${xs.length > 5 ? `, ... (${xs.length - 5} more in stats/dictionary.json)` : ""}`;
  const out: string[] = [];
  if (d?.statusColumn === false) out.push(`${file} has no status column: all ${d.terms ?? "its"} rows were taken as approved`);
  if (d?.blankStatus.length) out.push(`${d.blankStatus.length} rows without a status were left out (a blank status is pending; mark them approved to use them): ${some(d.blankStatus, (r) => `"${r.term}" (line ${r.line})`)}`);
  if (d?.emptyCandidates.length) out.push(`${d.emptyCandidates.length} rows have an empty candidate translation (e.g. "a||b"), dropped: ${some(d.emptyCandidates, (r) => `"${r.term}" (line ${r.line})`)}`);
  if (d?.caseDuplicates.length) out.push(`${d.caseDuplicates.length} terms differ from another only in letter case: ${some(d.caseDuplicates, (r) => `"${r.term}" (line ${r.line}) / "${r.other}"`)}`);
  if (t?.termsNeverFound.length) out.push(`${t.termsNeverFound.length} dictionary terms never occur in the forget corpus: ${some(t.termsNeverFound, (x) => `"${x}"`).replace("stats/dictionary.json", "stats/translate.json")}`);
  return out;
}
