/** Stage `labels`: reinforced logits on the original blocks + baseline logits on the translated blocks
 * -> generic next-token labels for every alpha. Resumable: blocks are processed in chunks, each chunk
 * written atomically, and a restarted run skips the chunks already on disk. */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { fileExists, fileSha256, readJsonlAll, toJsonlText, writeFileAtomic, writeJsonAtomic } from "../core/artifacts.js";
import { combineBlock, toHfLabels } from "../core/combine.js";
import { UserError } from "../core/errors.js";
import { hashJson } from "../core/hash.js";
import type { LogitSource } from "../core/rows.js";
import { createLogitSource, type ModelRole } from "../models/registry.js";
import type { Stage, StageContext } from "../stage.js";
import { alignedSchema } from "./translate.js";
import { blockSchema, generalBlockSchema } from "./tokenize.js";

export const labelRowSchema = z.object({
  id: z.string(),
  /** Hugging Face convention, one array per alpha (same order as labels-meta.json's alphas). */
  labels: z.array(z.array(z.number().int())),
  uncertified: z.array(z.number().int()),
});
export type LabelRow = z.infer<typeof labelRowSchema>;

export const labelsMetaSchema = z.object({
  version: z.literal(1),
  alphas: z.array(z.number()),
  topK: z.union([z.number().int(), z.literal("full")]),
  logitSpace: z.enum(["logprobs", "logits"]),
  models: z.record(z.string(), z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
});

async function loadSources(ctx: StageContext, roles: readonly ModelRole[]): Promise<Record<string, LogitSource>> {
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

export const labelsStage: Stage = {
  name: "labels",
  summary: "query the reinforced and baseline models and combine their logits into generic labels",
  version: 1,
  reads: ["blocks", "generalBlocks", "aligned"],
  writes: ["labels", "labelsMeta"],
  async fingerprintInputs(config) {
    return { config: { models: { baseline: config.models.baseline, reinforced: config.models.reinforced }, alphas: config.alphas, topK: config.logits.topK }, files: [] };
  },
  async run(ctx: StageContext) {
    const { alphas } = ctx.config;
    const topK = ctx.config.logits.topK;
    const blocks = await readJsonlAll(ctx.path("blocks"), blockSchema);
    const aligned = await readJsonlAll(ctx.path("aligned"), alignedSchema);
    if (aligned.length !== blocks.length || aligned.some((a, i) => a.id !== blocks[i].id)) {
      throw new UserError("aligned.jsonl does not match blocks.jsonl", "re-run `whp translate`");
    }
    const sources = await loadSources(ctx, ["baseline", "reinforced"]);
    const { baseline, reinforced } = sources;
    if (baseline.logitSpace !== reinforced.logitSpace) {
      throw new UserError(`the baseline returns ${baseline.logitSpace} but the reinforced model returns ${reinforced.logitSpace}`, "serve both in the same space (vLLM: the same --logprobs-mode)");
    }
    checkLengths(sources, Math.max(...blocks.map((b) => b.input_ids.length)), Math.max(...aligned.map((a) => a.translated_ids.length)));

    const partsDir = ctx.partsDir();
    await mkdir(partsDir, { recursive: true });
    const chunkSize = ctx.config.logits.chunkBlocks;
    const chunks = Math.ceil(blocks.length / chunkSize);
    let resumed = 0;
    for (let c = 0; c < chunks; c++) {
      const file = join(partsDir, `chunk-${String(c).padStart(6, "0")}.jsonl`);
      if (await validChunk(file, blocks.slice(c * chunkSize, (c + 1) * chunkSize).map((b) => b.id))) {
        resumed++;
        continue;
      }
      const rows: LabelRow[] = [];
      for (let i = c * chunkSize; i < Math.min(blocks.length, (c + 1) * chunkSize); i++) {
        const [r, b] = await Promise.all([reinforced.rows(blocks[i].input_ids, { topK }), baseline.rows(aligned[i].translated_ids, { topK })]);
        const out = combineBlock({ reinforced: r, baseline: b, map: Int32Array.from(aligned[i].map), forbidden: aligned[i].forbidden, alphas, logitSpace: baseline.logitSpace });
        rows.push({ id: blocks[i].id, labels: out.generic.map((g) => Array.from(toHfLabels(g))), uncertified: out.uncertified });
      }
      await writeFileAtomic(file, toJsonlText(rows));
      ctx.log.info(`labels: ${Math.min(blocks.length, (c + 1) * chunkSize)}/${blocks.length} blocks`);
    }
    if (resumed) ctx.log.info(`labels: resumed, ${resumed} of ${chunks} chunk(s) were already done`);

    let text = "";
    for (let c = 0; c < chunks; c++) text += toJsonlText(await readJsonlAll(join(partsDir, `chunk-${String(c).padStart(6, "0")}.jsonl`), labelRowSchema));
    await writeFileAtomic(ctx.path("labels"), text);
    await writeJsonAtomic(ctx.path("labelsMeta"), {
      version: 1,
      alphas,
      topK,
      logitSpace: baseline.logitSpace,
      models: { baseline: baseline.identity, reinforced: reinforced.identity },
    });
    // How many chunks a resumed run found done is logged, not recorded: a resumed run must leave the
    // same bytes as an uninterrupted one.
    return { blocks: blocks.length, chunks, topK, logitSpace: baseline.logitSpace };
  },
};

/** A chunk left by an interrupted run counts only if it parses and holds exactly the expected blocks. */
async function validChunk(file: string, ids: string[]): Promise<boolean> {
  if (!(await fileExists(file))) return false;
  try {
    const rows = await readJsonlAll(file, labelRowSchema);
    return rows.length === ids.length && rows.every((r, i) => r.id === ids[i]);
  } catch {
    return false;
  }
}
