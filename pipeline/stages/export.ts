/** Stage `export`: blocks + labels -> train.jsonl (the fine-tuning dataset) and manifest.json, plus the
 * dataset folder for trainers (dataset/: hf / torchtune / text layouts, the reinforcement dataset, the
 * card and its own manifest; see pipeline/export/). */
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import { publicConfig } from "../config.js";
import { UserError } from "../core/errors.js";
import { ARTIFACTS, type ArtifactName, type Stage, type StageContext } from "../stage.js";
import { type DatasetRow, writeDataset } from "../export/dataset.js";
import { addToScan, emptyScan } from "../export/dataset-scan.js";
import { embeddedSources } from "../export/provenance.js";
import { TOOL } from "../version.js";
import { RUN_MANIFEST_VERSION, type RunManifest, type TrainRow } from "../schemas/train.js";
import { stageInfo } from "./catalog.js";

/** Column name of the labels for one alpha: the main alpha is plain `labels`. */
export function labelsColumn(alpha: number, main: number): string {
  return alpha === main ? "labels" : `labels_alpha_${alpha}`;
}

/** Per-row counts: masked = positions (after the first) with no label; changed = labelled positions
 * whose label differs from the original next token. */
export function countRow(inputIds: readonly number[], labels: readonly number[]): { masked: number; changed: number } {
  let masked = 0;
  let changed = 0;
  for (let t = 1; t < labels.length; t++) {
    if (labels[t] < 0) masked++;
    else if (labels[t] !== inputIds[t]) changed++;
  }
  return { masked, changed };
}

const EXPORTED: ArtifactName[] = ["documents", "blocks", "dictionary", "aligned", "labels", "labelsMeta", "labelsUncertainty", "train"];

export const exportStage: Stage = {
  ...stageInfo("export"),
  // 2: adds dataset/ (formats, card, dataset manifest). 3: torchtune/ follows released torchtune
  // (unshifted labels), torchtune-shifted/ the pre-shifted ones; demonstration-only note.
  version: 3,
  async fingerprintInputs(config) {
    return { config: publicConfig(config), files: [config.tokenizer] };
  },
  async run(ctx: StageContext) {
    const meta = await ctx.read("labelsMeta");
    const main = meta.alphas[0];
    // Reviewed labels (whp labels --apply-review): how many verdicts, by kind, and the review file's
    // hash; the overrides themselves are in labels-meta.json.
    const labelReview = meta.review ? { file: meta.review.file, sha256: meta.review.sha256, verdicts: meta.review.verdicts, skipped: meta.review.skipped } : undefined;
    const totals = { blocks: 0, tokens: 0, positions: 0, masked: 0, changed: 0, uncertified: meta.alphas.map(() => 0), anchorOccurrences: 0, unalignedOccurrences: 0 };
    // First pass: train.jsonl row by row, the run totals and what the dataset's split and card need
    // (dataset-scan.ts), so no file is held; the dataset folder is the second pass.
    const scan = emptyScan();
    const train = await ctx.writer("train");
    try {
      for await (const { block, labels, aligned } of blockRows(ctx)) {
        const row: Record<string, unknown> = {
          id: block.id,
          source: block.doc,
          span: block.span,
          input_ids: block.input_ids,
          attention_mask: block.input_ids.map(() => 1),
        };
        meta.alphas.forEach((alpha, a) => {
          row[labelsColumn(alpha, main)] = labels.labels[a];
          totals.uncertified[a] += labels.uncertified[a];
        });
        const counts = countRow(block.input_ids, labels.labels[0]);
        row.counts = { ...counts, uncertified: labels.uncertified[0] };
        totals.blocks++;
        totals.tokens += block.input_ids.length;
        totals.positions += block.input_ids.length - 1;
        totals.masked += counts.masked;
        totals.changed += counts.changed;
        totals.anchorOccurrences += aligned.occurrences.length;
        totals.unalignedOccurrences += aligned.unaligned.length;
        addToScan(scan, labels);
        // Built column by column so the columns keep their order; the writer checks the shape
        // against the schema its readers use (schemas/registry.ts) and publishes the file at commit.
        await train.row(row as TrainRow);
      }
      await train.commit();
    } catch (e) {
      await train.abort();
      throw e;
    }
    const tok = await ctx.tokenizer();
    const files = [];
    for (const name of EXPORTED) {
      const p = ctx.path(name);
      const { sha256, bytes, lines } = await hashFile(p);
      const isJsonl = ARTIFACTS[name].endsWith(".jsonl");
      files.push({ path: ARTIFACTS[name], bytes, sha256, ...(isJsonl ? { rows: lines } : {}) });
    }
    // Labels from the embedded sandbox models are for demonstration: the run summary reads this field.
    const embedded = embeddedSources(meta.models);
    const manifest: RunManifest = {
      format: "whp-run",
      version: RUN_MANIFEST_VERSION,
      tool: TOOL,
      run: ctx.config.run.name,
      ...(embedded.length ? { demonstrationOnly: true, embeddedModels: embedded } : {}),
      seed: ctx.config.seed,
      config: publicConfig(ctx.config),
      tokenizer: { sha256: tok.info.sha256, vocabSize: tok.info.vocabSize, prefixSpecialIds: tok.info.prefixSpecialIds },
      models: meta.models,
      alphas: { main, all: meta.alphas, columns: meta.alphas.map((a) => labelsColumn(a, main)) },
      logitSpace: meta.logitSpace,
      topK: meta.topK,
      labelConvention: "huggingface: labels[t] is the target for input_ids[t] (unshifted), -100 = ignored",
      ...(labelReview ? { labelReview } : {}),
      counts: totals,
      files,
    };
    await ctx.write("manifest", manifest);
    const dictionary = await ctx.read("dictionary");
    const dataset = await writeDataset(ctx.config.runDir, {
      config: ctx.config,
      rows: () => blockRows(ctx),
      scan,
      alphas: meta.alphas,
      columns: meta.alphas.map((a) => labelsColumn(a, main)),
      models: meta.models,
      topK: meta.topK,
      logitSpace: meta.logitSpace,
      dictionary,
      tokenizer: tok,
      // Object.assign: the card types the counts it reads; the dataset manifest keeps every field.
      counts: labelReview ? Object.assign({}, totals, { reviewedLabels: labelReview }) : totals,
      log: ctx.log,
    });
    return { ...totals, dataset };
  },
};

/**
 * blocks.jsonl, labels.jsonl and aligned.jsonl read side by side, one row of each at a time: the
 * labels and the alignment of a block are on the same row as the block. A row for another block, or
 * a file that ends early or runs on, is refused with the row named.
 */
async function* blockRows(ctx: StageContext): AsyncGenerator<DatasetRow> {
  const labels = ctx.stream("labels");
  const aligned = ctx.stream("aligned");
  try {
    let n = 0;
    for await (const block of ctx.stream("blocks")) {
      n++;
      const l = await labels.next();
      if (l.done || l.value.id !== block.id) throw mismatch("labels.jsonl", "`whp labels`", n, block.id, l.done ? undefined : l.value.id);
      const a = await aligned.next();
      if (a.done || a.value.id !== block.id) throw mismatch("aligned.jsonl", "`whp translate`", n, block.id, a.done ? undefined : a.value.id);
      yield { block, labels: l.value, aligned: a.value };
    }
    const l = await labels.next();
    if (!l.done) throw mismatch("labels.jsonl", "`whp labels`", n + 1, undefined, l.value.id);
    const a = await aligned.next();
    if (!a.done) throw mismatch("aligned.jsonl", "`whp translate`", n + 1, undefined, a.value.id);
  } finally {
    await labels.return(undefined);
    await aligned.return(undefined);
  }
}

function mismatch(file: string, rerun: string, row: number, blockId: string | undefined, got: string | undefined): UserError {
  const what = got === undefined ? "ends" : `has ${JSON.stringify(got)}`;
  const want = blockId === undefined ? "blocks.jsonl has no more blocks" : `blocks.jsonl has ${JSON.stringify(blockId)}`;
  return new UserError(`${file} does not match blocks.jsonl: at row ${row} ${file} ${what}, ${want}`, `re-run ${rerun}`);
}

/** sha256, size and line count of a file, read as a stream (the artifacts may be corpus-sized). */
async function hashFile(path: string): Promise<{ sha256: string; bytes: number; lines: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  let lines = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    hash.update(buf);
    bytes += buf.length;
    for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) lines++;
  }
  return { sha256: hash.digest("hex"), bytes, lines };
}
