/** Stage `labels`: reinforced logits on the original blocks + baseline logits on the translated blocks
 * -> generic next-token labels for every alpha. The stage is "one block -> one row" plus its preflight;
 * the chunked executor (runner/chunked.ts) streams the blocks, resumes from chunk files, runs shards
 * (`--shard i/n`) and merges them (`whp merge`), and hands the rows back in order, which the stage
 * writes row by row with the stored review applied on the way (labels-review/stage-review.ts). Served
 * models also cache every response (models/cache.ts). */
import { join } from "node:path";
import { fileExists, fileSha256, openAtomicWriter, readJsonlAll } from "../io/artifacts.js";
import { combineBlock, toHfLabels } from "../core/combine.js";
import { UserError } from "../core/errors.js";
import { startProgress } from "../io/progress.js";
import { settleCacheWrites } from "../io/cache-queue.js";
import { hashJson } from "../core/hash.js";
import type { LogitSource, ModelIdentity } from "../core/rows.js";
import { isServed, type TokenizerSample } from "../models/preflight.js";
import { createLogitSource, type ModelRole } from "../models/registry.js";
import { ARTIFACTS, type Stage, type StageContext } from "../stage.js";
import { NotTheCombination, previousCombination, previousCombinationRows, storedReviewStep } from "../labels-review/stage-review.js";
import { uncertaintyRow, type UncertaintyRow } from "../labels-review/uncertainty.js";
import type { LabelRow } from "../schemas/labels.js";
import { checkBuiltLabelChunkRow, type LabelChunkRow, labelChunkRowSchema, labelsShardRecordSchema } from "../schemas/label-chunks.js";
import { blockSchema, generalBlockSchema } from "../schemas/blocks.js";
import { type ChunkedMode, runChunked } from "../runner/chunked.js";
import type { Shard } from "../runner/shards.js";
import { stageInfo } from "./catalog.js";
import { blockIdsAt, labelItems, type LabelItem } from "./labels-inputs.js";
import { outputLinesOf, readWrittenChunkLine } from "./labels-lines.js";


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

/** Everything that shapes the combined labels; the review, applied afterwards, is not part of it. It
 * also keys the shard folder, so shards made from other inputs or another config are never merged. */
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

/** Local tokenization of a few corpus samples (first, middle and last block), for the servers' check. */
async function tokenizerSamples(ctx: StageContext, count: number): Promise<TokenizerSample[]> {
  const tok = await ctx.tokenizer();
  const prefix = tok.info.prefixSpecialIds;
  const picks = [...new Set([0, count >> 1, count - 1])].filter((i) => i >= 0 && i < count);
  const ids = await blockIdsAt(ctx, picks);
  const out: TokenizerSample[] = [];
  for (const p of picks) {
    const text = await tok.decode(ids.get(p)!.slice(prefix.length, prefix.length + 96));
    if (text.trim()) out.push({ text, ids: [...prefix, ...(await tok.encodeIds(text))] });
  }
  return out;
}

type LabelsMeta = { logitSpace: "logprobs" | "logits"; models: Record<string, ModelIdentity> };

async function runLabels(ctx: StageContext, mode: ChunkedMode) {
  const { alphas } = ctx.config;
  const topK = ctx.config.logits.topK;
  const key = await combinationKey(ctx);
  if (mode.kind !== "shard") {
    const reused = await reuseCombination(ctx, key);
    if (reused) return reused;
  }
  // What the preflight needs from the whole corpus, seen as the survey streams past.
  let longestOriginal = 0;
  let longestTranslated = 0;
  let firstIds: number[] = [];
  let tokensToDo = 0;
  const served: ReturnType<typeof servedOf> = [];
  let cacheInfo = { hits: 0, corrupt: 0 };
  const result = await runChunked<LabelItem, LabelChunkRow, LabelsMeta>(
    {
      stage: "labels",
      items: labelItems(ctx),
      idOf: (it) => it.block.id,
      chunkItems: ctx.config.logits.chunkBlocks,
      chunkSchema: labelChunkRowSchema,
      checkBuilt: checkBuiltLabelChunkRow,
      readWritten: readWrittenChunkLine,
      partsDir: ctx.partsDir(),
      shardDir: join(ctx.config.runDir, "shards", `labels-${key.slice(0, 16)}`),
      shardRecordSchema: labelsShardRecordSchema,
      runDir: ctx.config.runDir,
      shardCommand: "whp labels --shard i/n",
    },
    mode,
    {
      observe({ block, aligned }, index, todo) {
        longestOriginal = Math.max(longestOriginal, block.input_ids.length);
        longestTranslated = Math.max(longestTranslated, aligned.translated_ids.length);
        if (index === 0) firstIds = block.input_ids.slice(0, 64);
        // Counted in tokens sent (original + translated), so the rate reads as tokens/s.
        if (todo) tokensToDo += block.input_ids.length + aligned.translated_ids.length;
      },
      async prepare(survey) {
        const sources = await loadSources(ctx, ["baseline", "reinforced"]);
        const { baseline, reinforced } = sources;
        served.push(...servedOf(sources));
        if (served.length && survey.todo) {
          const samples = await tokenizerSamples(ctx, survey.items);
          await Promise.all(served.map((s) => s.preflight({ topK, samples })));
        }
        checkLengths(sources, longestOriginal, longestTranslated);
        // The probe sets each served source's logitSpace from what the server returns (models/preflight.ts).
        if (served.length && survey.todo) await Promise.all(served.map((s) => s.probe(firstIds, topK)));
        if (baseline.logitSpace !== reinforced.logitSpace) {
          throw new UserError(`the baseline returns ${baseline.logitSpace} but the reinforced model returns ${reinforced.logitSpace}`, "serve both in the same space (vLLM: the same --logprobs-mode)");
        }
        // A bar on a TTY, periodic lines otherwise (io/progress.ts).
        const progress = startProgress(ctx.log, "labels", tokensToDo, { unit: "tokens" });
        return {
          meta: { logitSpace: baseline.logitSpace, models: { baseline: baseline.identity, reinforced: reinforced.identity } },
          // Blocks in flight: twice what the busier model's servers take at once; 1 for embedded
          // models, which compute synchronously anyway. Why twice: a block holds its slot while it
          // is combined, after its responses came back; with exactly `capacity` slots a server's
          // connection stayed idle for that time (and until the other model answered), and the
          // stage reached ~85% of C/delay. The servers' own limit is their transport pool
          // (models/transport.ts: connections = concurrency), which queues the extra requests and
          // sends each the moment a connection frees; their timeout starts only then.
          inFlight: Math.max(1, ...served.map((s) => 2 * s.capacity)),
          async compute({ block, aligned }): Promise<LabelChunkRow> {
            // The two models are asked at the same time: they are usually different servers.
            const [r, b] = await Promise.all([reinforced.rows(block.input_ids, { topK }), baseline.rows(aligned.translated_ids, { topK })]);
            const out = combineBlock({ reinforced: r, baseline: b, map: Int32Array.from(aligned.map), forbidden: aligned.forbidden, alphas, logitSpace: baseline.logitSpace });
            progress.tick(block.input_ids.length + aligned.translated_ids.length);
            return { id: block.id, labels: out.generic.map((g) => Array.from(toHfLabels(g))), uncertified: out.uncertified, uncertainty: uncertaintyRow(block.id, out, b, aligned.map, baseline.logitSpace) };
          },
          done() {
            progress.done();
            for (const s of served) {
              const st = s.cacheStats();
              cacheInfo = { hits: cacheInfo.hits + st.hits, corrupt: cacheInfo.corrupt + st.corrupt };
            }
          },
        };
      },
      async assemble(rows, meta) {
        await writeOutputs(ctx, key, meta, rows);
      },
    },
  );
  const { chunks, items, meta } = result;
  await settleCacheWrites(); // responses are cached in the background: on disk before the stage is done
  if (mode.kind === "shard") {
    const { index, count } = mode.shard;
    ctx.log.info(`labels: shard ${index}/${count} done (${result.resumed + result.todo} chunk(s) in shards/labels-${key.slice(0, 16)}); run \`whp merge\` once every shard is there`);
    return { blocks: items, chunks, shard: `${index}/${count}` };
  }
  if (result.resumed && mode.kind === "run") ctx.log.info(`labels: resumed, ${result.resumed} of ${chunks} chunk(s) were already done`);
  // How many chunks a resumed run found done, cache hits and timings are logged, not recorded: a
  // resumed run must leave the same bytes as an uninterrupted one.
  if (cacheInfo.hits || cacheInfo.corrupt) ctx.log.info(`labels: ${cacheInfo.hits} response(s) from the cache, ${cacheInfo.corrupt} corrupt cache entr(ies) refetched`);
  return { blocks: items, chunks, topK, logitSpace: meta.logitSpace };
}

const servedOf = (sources: Record<string, LogitSource>) => Object.values(sources).filter(isServed);

/** Only the review changed since the last run: re-apply it to the same combined labels, streamed from
 * the previous labels.jsonl (labels-uncertainty.jsonl, which the review does not touch, stays). */
async function reuseCombination(ctx: StageContext, key: string) {
  const prev = await previousCombination(ctx, key);
  if (!prev?.outputs) return undefined;
  ctx.log.info("labels: the combination's inputs are unchanged; re-applying the review without asking the models");
  const { logitSpace, models } = prev;
  try {
    const blocks = await writeOutputs(ctx, key, { logitSpace, models }, previousCombinationRows(ctx, prev, ctx.log), prev.outputs.uncertainty);
    return { blocks, topK: ctx.config.logits.topK, logitSpace, reused: true };
  } catch (e) {
    if (e instanceof NotTheCombination) return undefined;
    throw e;
  }
}

/**
 * Writes the stage's outputs row by row: the combined labels with the stored review applied on top,
 * the uncertainty rows (unless `keptUncertainty`, the sha256 of the file left in place), and the
 * metadata recording both. Each file appears whole or not at all. The rows were validated when their
 * chunk was written (or read from a validated file), so they are not checked a second time here.
 * Returns the number of rows.
 */
async function writeOutputs(ctx: StageContext, key: string, meta: LabelsMeta, rows: AsyncIterable<LabelChunkRow | LabelRow>, keptUncertainty?: string): Promise<number> {
  const review = await storedReviewStep(ctx);
  const labels = await openAtomicWriter(ctx.path("labels"));
  const uncertainty = keptUncertainty === undefined ? await openAtomicWriter(ctx.path("labelsUncertainty")) : undefined;
  let n = 0;
  let outputs: { labels: string; uncertainty: string };
  try {
    for await (const r of rows) {
      const { uncertainty: u, ...row } = r as LabelRow & { uncertainty?: UncertaintyRow };
      const reviewed = review.row(row);
      // A row the review leaves as it is, from a chunk this run wrote: its lines are slices of the chunk's.
      const same = reviewed === row && u !== undefined ? outputLinesOf(r as LabelChunkRow) : undefined;
      await labels.write(same ? same.labels : `${JSON.stringify(reviewed)}\n`);
      if (uncertainty) await uncertainty.write(same ? same.uncertainty : `${JSON.stringify(u)}\n`);
      n++;
    }
    outputs = { labels: (await labels.commit()).sha256, uncertainty: uncertainty ? (await uncertainty.commit()).sha256 : keptUncertainty! };
  } catch (e) {
    await labels.abort();
    await uncertainty?.abort();
    throw e;
  }
  const applied = review.finish();
  const { alphas } = ctx.config;
  await ctx.write("labelsMeta", { version: 1, alphas, topK: ctx.config.logits.topK, logitSpace: meta.logitSpace, models: meta.models, combination: key, outputs, ...(applied ? { review: applied } : {}) });
  return n;
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
  run: (ctx) => runLabels(ctx, { kind: "run" }),
};

/** Same stage (same name, version and fingerprint), but it only assembles finished shard chunks: what
 * `whp merge` runs, so the stage record it leaves lets later `whp run`s skip the labels stage. */
export const labelsMergeStage: Stage = { ...labelsStage, run: (ctx) => runLabels(ctx, { kind: "merge" }) };

/** A shard run: outside the stage runner, since it writes no stage outputs and no stage record. */
export async function runLabelsShard(ctx: StageContext, shard: Shard) {
  for (const name of labelsStage.reads) {
    if (!(await fileExists(ctx.path(name)))) throw new UserError(`--shard needs ${ctx.path(name)}`, "run the earlier stages first: whp ingest, tokenize, dictionary, translate");
  }
  return runLabels(ctx, { kind: "shard", shard });
}
