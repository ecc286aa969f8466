/** Stage `labels`: reinforced logits on the original blocks + baseline logits on the translated blocks
 * -> generic next-token labels for every alpha. Resumable: blocks are processed in chunks, each chunk
 * written atomically, and a restarted run skips the chunks already on disk (served models also cache
 * every response, see models/cache.ts). Shardable: `--shard i/n` runs write chunk c when c % n === i to
 * a shard folder, and `whp merge` assembles them into the same bytes an unsharded run writes. */
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import pLimit, { type LimitFunction } from "p-limit";
import { z } from "zod";
import { fileExists, fileSha256, readJson, readJsonlAll, toJsonlText, writeFileAtomic, writeJsonAtomic } from "../io/artifacts.js";
import { combineBlock, toHfLabels } from "../core/combine.js";
import { UserError } from "../core/errors.js";
import { startProgress } from "../io/progress.js";
import { canonicalJson, hashJson, sha256 } from "../core/hash.js";
import type { LogitSource, ModelIdentity } from "../core/rows.js";
import { isServed, type TokenizerSample } from "../models/preflight.js";
import { createLogitSource, type ModelRole } from "../models/registry.js";
import { ARTIFACTS, type Stage, type StageContext } from "../stage.js";
import { applyStoredReview, previousCombination } from "../labels-review/stage-review.js";
import { uncertaintyRow, uncertaintyRowSchema } from "../labels-review/uncertainty.js";
import { labelRowSchema, labelsMetaSchema, type LabelRow } from "../schemas/labels.js";
import { readArtifact, writeArtifact } from "../schemas/registry.js";
import { blockSchema, generalBlockSchema } from "../schemas/blocks.js";
import { stageInfo } from "./catalog.js";

/** A chunk file's row: the labels plus the block's uncertainty row (split into two artifacts). */
const chunkRowSchema = labelRowSchema.extend({ uncertainty: uncertaintyRowSchema });
type ChunkRow = z.infer<typeof chunkRowSchema>;

export async function loadSources(ctx: StageContext, roles: readonly ModelRole[]): Promise<Record<string, LogitSource>> {
  const tok = await ctx.tokenizer();
  const read = async (name: "blocks" | "generalBlocks") => (await readJsonlAll(ctx.path(name), name === "blocks" ? blockSchema : generalBlockSchema)).map((b) => b.input_ids);
  let forget: Promise<number[][]> | undefined;
  let general: Promise<number[][]> | undefined;
  const dataHash = hashJson([await fileSha256(ctx.path("blocks")), await fileSha256(ctx.path("generalBlocks"))]);
  const out: Record<string, LogitSource> = {};
  for (const role of roles) {
    const spec = ctx.config.models[role as "baseline" | "reinforced"];
    out[role] = await createLogitSource(spec, {
      role,
      vocabSize: tok.info.vocabSize,
      forgetBlocks: () => (forget ??= read("blocks")),
      generalBlocks: () => (general ??= read("generalBlocks")),
      dataHash,
      // Outside the stage's parts folder: responses stay valid when alphas or chunking change.
      cacheDir: join(ctx.config.runDir, ".whp", "cache"),
      warn: (m) => ctx.log.warn(m),
    });
  }
  return out;
}

/** Stops before any model work when a sequence is longer than a model accepts. */
function checkLengths(sources: Record<string, LogitSource>, longestOriginal: number, longestTranslated: number): void {
  for (const [role, src] of Object.entries(sources)) {
    const longest = role === "reinforced" ? longestOriginal : longestTranslated;
    if (longest > src.maxModelLen) {
      throw new UserError(
        `the ${role} model accepts at most ${src.maxModelLen} tokens, but a ${role === "reinforced" ? "" : "translated "}block has ${longest}`,
        role === "reinforced" ? `lower blockSize to at most ${src.maxModelLen}` : `lower blockSize so translated blocks (which grow when translations are longer than their terms) fit in ${src.maxModelLen}`,
      );
    }
  }
}

export interface LabelsOptions {
  /** Process only the chunks of this shard (chunk c belongs to shard c % count) into the shard folder. */
  shard?: { index: number; count: number };
  /** Build the outputs from finished chunks and shard folders only; a missing chunk is an error. */
  mergeOnly?: boolean;
}

export const shardMetaSchema = z.object({
  version: z.literal(1),
  index: z.number().int(),
  count: z.number().int(),
  chunks: z.number().int(),
  logitSpace: z.enum(["logprobs", "logits"]),
  models: labelsMetaSchema.shape.models,
});

/** Parses "i/n" (0-based i). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new UserError(`--shard expects i/n with 0 <= i < n, got "${text}"`, "write e.g. --shard 0/4 (shards are numbered from 0)");
  return { index, count };
}

/** The folder shard runs write to: keyed by everything that shapes the chunks, so shards made from
 * other inputs or another config are never merged. */
async function shardDir(ctx: StageContext): Promise<string> {
  return join(ctx.config.runDir, "shards", `labels-${(await combinationKey(ctx)).slice(0, 16)}`);
}

/** Everything that shapes the combined labels; the review, applied afterwards, is not part of it. */
async function combinationKey(ctx: StageContext): Promise<string> {
  const c = ctx.config;
  return hashJson({
    version: labelsStage.version,
    blocks: await fileSha256(ctx.path("blocks")),
    generalBlocks: await fileSha256(ctx.path("generalBlocks")),
    aligned: await fileSha256(ctx.path("aligned")),
    models: { baseline: modelKey(c.models.baseline), reinforced: modelKey(c.models.reinforced) },
    alphas: c.alphas,
    topK: c.logits.topK,
    chunkBlocks: c.logits.chunkBlocks,
  });
}

/** Fields that say how to reach a model, not which model it is: left out of the stage fingerprint and
 * the shard key, so machines that reach the same model through their own replicas make mergeable
 * shards, and adding a replica does not invalidate finished work. */
const TRANSPORT_FIELDS = new Set(["urls", "apiKeyEnv", "concurrency", "timeoutSeconds", "attempts"]);

function modelKey(spec: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).filter(([k]) => !TRANSPORT_FIELDS.has(k)));
}

const chunkName = (c: number) => `chunk-${String(c).padStart(6, "0")}.jsonl`;

/** Local tokenization of a few corpus samples (first, middle and last block), for the servers' check. */
async function tokenizerSamples(ctx: StageContext, blocks: readonly { input_ids: number[] }[]): Promise<TokenizerSample[]> {
  const tok = await ctx.tokenizer();
  const prefix = tok.info.prefixSpecialIds;
  const picks = [...new Set([0, blocks.length >> 1, blocks.length - 1])].filter((i) => i >= 0 && i < blocks.length);
  const out: TokenizerSample[] = [];
  for (const i of picks) {
    const text = await tok.decode(blocks[i].input_ids.slice(prefix.length, prefix.length + 96));
    if (text.trim()) out.push({ text, ids: [...prefix, ...(await tok.encodeIds(text))] });
  }
  return out;
}

async function runLabels(ctx: StageContext, opts: LabelsOptions = {}) {
  const { alphas } = ctx.config;
  const topK = ctx.config.logits.topK;
  if (!opts.shard) {
    // Only the review changed since the last run: re-apply it to the same combined labels.
    const key = await combinationKey(ctx);
    const prev = await previousCombination(ctx, key, ctx.log);
    if (prev) {
      ctx.log.info("labels: the combination's inputs are unchanged; re-applying the review without asking the models");
      const { logitSpace, models } = prev.meta;
      await writeOutputs(ctx, key, prev.rows, await readFile(ctx.path("labelsUncertainty"), "utf8"), { logitSpace, models });
      return { blocks: prev.rows.length, topK, logitSpace, reused: true };
    }
  }
  const blocks = await readArtifact(ctx, "blocks");
  const aligned = await readArtifact(ctx, "aligned");
  if (aligned.length !== blocks.length || aligned.some((a, i) => a.id !== blocks[i].id)) {
    throw new UserError("aligned.jsonl does not match blocks.jsonl", "re-run `whp translate`");
  }
  const chunkSize = ctx.config.logits.chunkBlocks;
  const chunks = Math.ceil(blocks.length / chunkSize);
  const shards = await shardDir(ctx);
  const outDir = opts.shard ? shards : ctx.partsDir();
  await mkdir(outDir, { recursive: true });
  const chunkIds = (c: number) => blocks.slice(c * chunkSize, (c + 1) * chunkSize).map((b) => b.id);

  // Chunks already done: this run's own parts, or (when merging) a shard's.
  const done = new Map<number, string>();
  const todo: number[] = [];
  for (let c = 0; c < chunks; c++) {
    if (opts.shard && c % opts.shard.count !== opts.shard.index) continue;
    const own = join(outDir, chunkName(c));
    if (await validChunk(own, chunkIds(c))) done.set(c, own);
    else if (!opts.shard && (await validChunk(join(shards, chunkName(c)), chunkIds(c)))) done.set(c, join(shards, chunkName(c)));
    else todo.push(c);
  }
  if (opts.mergeOnly && todo.length) {
    const count = await shardCount(shards);
    throw new UserError(
      `cannot merge: ${todo.length} of ${chunks} label chunk(s) are missing (first: chunk ${todo[0]}${count ? `, from shard ${todo[0] % count}/${count}` : ""})`,
      `run the missing shards (\`whp labels --shard i/n\`) and copy their ${relative(ctx.config.runDir, shards)} folders into ${ctx.config.runDir}`,
    );
  }

  let meta: { logitSpace: "logprobs" | "logits"; models: Record<string, ModelIdentity> };
  let cacheInfo = { hits: 0, corrupt: 0 };
  if (opts.mergeOnly) {
    meta = await readShardMeta(shards);
  } else {
    const sources = await loadSources(ctx, ["baseline", "reinforced"]);
    const { baseline, reinforced } = sources;
    const served = Object.values(sources).filter(isServed);
    if (served.length && todo.length) {
      const samples = await tokenizerSamples(ctx, blocks);
      await Promise.all(served.map((s) => s.preflight({ topK, samples })));
    }
    checkLengths(sources, Math.max(...blocks.map((b) => b.input_ids.length)), Math.max(...aligned.map((a) => a.translated_ids.length)));
    // The probe sets each served source's logitSpace from what the server returns (models/preflight.ts).
    if (served.length && todo.length) await Promise.all(served.map((s) => s.probe(blocks[0].input_ids.slice(0, 64), topK)));
    if (baseline.logitSpace !== reinforced.logitSpace) {
      throw new UserError(`the baseline returns ${baseline.logitSpace} but the reinforced model returns ${reinforced.logitSpace}`, "serve both in the same space (vLLM: the same --logprobs-mode)");
    }
    meta = { logitSpace: baseline.logitSpace, models: { baseline: baseline.identity, reinforced: reinforced.identity } };
    // Blocks in flight: enough to keep every replica of the busier model busy; 1 for embedded models,
    // which compute synchronously anyway.
    const inFlight = Math.max(1, ...served.map((s) => s.capacity));
    // Counted in tokens sent (original + translated), so the rate reads as tokens/s: a bar on a TTY,
    // periodic lines otherwise (io/progress.ts).
    const tokensToDo = todo.reduce((sum, c) => sum + chunkIds(c).reduce((n, _id, j) => n + blocks[c * chunkSize + j].input_ids.length + aligned[c * chunkSize + j].translated_ids.length, 0), 0);
    const progress = startProgress(ctx.log, "labels", tokensToDo, { unit: "tokens" });
    await processChunks(todo, inFlight, chunkSize, async (c, limit) => {
      const first = c * chunkSize;
      const last = Math.min(blocks.length, first + chunkSize);
      const rows = await Promise.all(
        Array.from({ length: last - first }, (_, j) =>
          limit(async (): Promise<ChunkRow> => {
            const i = first + j;
            // The two models are asked at the same time: they are usually different servers.
            const [r, b] = await Promise.all([reinforced.rows(blocks[i].input_ids, { topK }), baseline.rows(aligned[i].translated_ids, { topK })]);
            const out = combineBlock({ reinforced: r, baseline: b, map: Int32Array.from(aligned[i].map), forbidden: aligned[i].forbidden, alphas, logitSpace: baseline.logitSpace });
            progress.tick(blocks[i].input_ids.length + aligned[i].translated_ids.length);
            return { id: blocks[i].id, labels: out.generic.map((g) => Array.from(toHfLabels(g))), uncertified: out.uncertified, uncertainty: uncertaintyRow(blocks[i].id, out, b, aligned[i].map, baseline.logitSpace) };
          }),
        ),
      );
      await writeFileAtomic(join(outDir, chunkName(c)), toJsonlText(rows));
      done.set(c, join(outDir, chunkName(c)));
    });
    progress.done();
    for (const s of served) {
      const st = s.cacheStats();
      cacheInfo = { hits: cacheInfo.hits + st.hits, corrupt: cacheInfo.corrupt + st.corrupt };
    }
  }
  const resumed = chunks - todo.length;
  if (resumed && !opts.mergeOnly && !opts.shard) ctx.log.info(`labels: resumed, ${resumed} of ${chunks} chunk(s) were already done`);

  if (opts.shard) {
    const { index, count } = opts.shard;
    await writeJsonAtomic(join(shards, `shard-${index}-of-${count}.json`), { version: 1, index, count, chunks, ...meta });
    ctx.log.info(`labels: shard ${index}/${count} done (${done.size} chunk(s) in ${relative(ctx.config.runDir, shards)}); run \`whp merge\` once every shard is there`);
    return { blocks: blocks.length, chunks, shard: `${index}/${count}` };
  }

  const rows: LabelRow[] = [];
  let uncertainty = "";
  for (let c = 0; c < chunks; c++) {
    const chunk = await readJsonlAll(done.get(c)!, chunkRowSchema);
    for (const { uncertainty: u, ...row } of chunk) rows.push(row);
    uncertainty += toJsonlText(chunk.map((r) => r.uncertainty));
  }
  await writeOutputs(ctx, await combinationKey(ctx), rows, uncertainty, meta);
  // How many chunks a resumed run found done, cache hits and timings are logged, not recorded: a
  // resumed run must leave the same bytes as an uninterrupted one.
  if (cacheInfo.hits || cacheInfo.corrupt) ctx.log.info(`labels: ${cacheInfo.hits} response(s) from the cache, ${cacheInfo.corrupt} corrupt cache entr(ies) refetched`);
  return { blocks: blocks.length, chunks, topK, logitSpace: meta.logitSpace };
}

/** Writes the stage's outputs: the combined labels with the stored review applied on top (a cheap
 * last step, see labels-review/), the uncertainty rows, and the metadata recording both. */
async function writeOutputs(ctx: StageContext, key: string, combined: readonly LabelRow[], uncertainty: string, meta: { logitSpace: "logprobs" | "logits"; models: Record<string, ModelIdentity> }): Promise<void> {
  const { rows, review } = await applyStoredReview(ctx, combined);
  const text = await writeArtifact(ctx, "labels", rows);
  await writeFileAtomic(ctx.path("labelsUncertainty"), uncertainty);
  const outputs = { labels: sha256(text), uncertainty: sha256(uncertainty) };
  const { alphas } = ctx.config;
  await writeArtifact(ctx, "labelsMeta", { version: 1, alphas, topK: ctx.config.logits.topK, logitSpace: meta.logitSpace, models: meta.models, combination: key, outputs, ...(review ? { review } : {}) });
}

/** Runs chunk tasks with at most `inFlight` blocks running at once across all chunks, so a slow block
 * in one chunk does not leave the servers idle. Exported for the request-rate benchmark. */
export async function processChunks(todo: readonly number[], inFlight: number, chunkBlocks: number, task: (c: number, limit: LimitFunction) => Promise<void>): Promise<void> {
  const limit = pLimit(inFlight);
  let failed = false;
  const guarded: LimitFunction = ((fn: () => Promise<unknown>) => limit(() => (failed ? Promise.reject(new Error("labels stage stopped")) : fn()))) as LimitFunction;
  // Chunks are started a window at a time: memory holds only the rows of the chunks in flight. The
  // window is counted in blocks: twice `inFlight` queued, plus one chunk, so the limit always has work
  // while a chunk waits for its slowest block (a window of inFlight / 4 CHUNKS left most slots idle
  // when chunks were small, and idled them at every chunk boundary when they were not).
  const window = Math.max(2, Math.ceil((2 * inFlight) / chunkBlocks) + 1);
  const queue = [...todo];
  const workers = Array.from({ length: Math.min(window, queue.length) }, async () => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
      try {
        await task(c, guarded);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  });
  await Promise.all(workers);
}

async function shardCount(dir: string): Promise<number> {
  if (!(await fileExists(dir))) return 0;
  const names = (await readdir(dir)).filter((n) => /^shard-\d+-of-\d+\.json$/.test(n));
  return names.length ? Number(/-of-(\d+)/.exec(names[0])![1]) : 0;
}

/** The shards' model identities and logit space, which must all agree. */
async function readShardMeta(dir: string): Promise<{ logitSpace: "logprobs" | "logits"; models: Record<string, ModelIdentity> }> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^shard-\d+-of-\d+\.json$/.test(n)).sort();
  if (!names.length) throw new UserError(`no finished shard in ${dir}`, "run `whp labels --shard i/n` for every shard first");
  const metas = await Promise.all(names.map((n) => readJson(join(dir, n), shardMetaSchema, "shard record")));
  const first = metas[0];
  for (const m of metas) {
    if (m.count !== first.count || canonicalJson(m.models) !== canonicalJson(first.models) || m.logitSpace !== first.logitSpace) {
      throw new UserError(`shard records in ${dir} disagree (shard ${m.index}/${m.count} vs ${first.index}/${first.count}: models or shard count differ)`, "re-run the shards with the same config and servers");
    }
  }
  return { logitSpace: first.logitSpace, models: first.models };
}

export const labelsStage: Stage = {
  ...stageInfo("labels"),
  // 2: adds labels-uncertainty.jsonl and the review applied after the combination.
  // 3: forbidden tokens apply strictly after the row of use (labels change: recompute old runs).
  version: 3,
  async fingerprintInputs(config) {
    // The review is an outside file: changing it re-runs the stage, which then reuses the combination.
    return { config: { models: { baseline: modelKey(config.models.baseline), reinforced: modelKey(config.models.reinforced) }, alphas: config.alphas, topK: config.logits.topK }, files: [join(config.runDir, ARTIFACTS.labelsReview)] };
  },
  run: (ctx) => runLabels(ctx),
};

/** Same stage (same name, version and fingerprint), but it only assembles finished shard chunks: what
 * `whp merge` runs, so the stage record it leaves lets later `whp run`s skip the labels stage. */
export const labelsMergeStage: Stage = { ...labelsStage, run: (ctx) => runLabels(ctx, { mergeOnly: true }) };

/** A shard run: outside the stage runner, since it writes no stage outputs and no stage record. */
export async function runLabelsShard(ctx: StageContext, shard: { index: number; count: number }) {
  for (const name of labelsStage.reads) {
    if (!(await fileExists(ctx.path(name)))) throw new UserError(`--shard needs ${ctx.path(name)}`, "run the earlier stages first: whp ingest, tokenize, dictionary, translate");
  }
  return runLabels(ctx, { shard });
}

/** A chunk left by an interrupted run counts only if it parses and holds exactly the expected blocks. */
async function validChunk(file: string, ids: string[]): Promise<boolean> {
  if (!(await fileExists(file))) return false;
  try {
    const rows = await readJsonlAll(file, chunkRowSchema);
    return rows.length === ids.length && rows.every((r, i) => r.id === ids[i]);
  } catch {
    return false;
  }
}
