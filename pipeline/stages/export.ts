/** Stage `export`: blocks + labels -> train.jsonl (the fine-tuning dataset) and manifest.json, plus the
 * dataset folder for trainers (dataset/: hf / torchtune / text layouts, the reinforcement dataset, the
 * card and its own manifest; see pipeline/export/). */
import { readFile, stat } from "node:fs/promises";
import { publicConfig } from "../config.js";
import { UserError } from "../core/errors.js";
import { sha256 } from "../core/hash.js";
import { ARTIFACTS, type ArtifactName, type Stage, type StageContext } from "../stage.js";
import { writeDataset } from "../export/dataset.js";
import { embeddedSources } from "../export/provenance.js";
import { TOOL } from "../version.js";
import { readArtifact, writeArtifact } from "../schemas/registry.js";
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
    const blocks = await readArtifact(ctx, "blocks");
    const labels = await readArtifact(ctx, "labels");
    const aligned = await readArtifact(ctx, "aligned");
    const meta = await readArtifact(ctx, "labelsMeta");
    if (labels.length !== blocks.length || labels.some((l, i) => l.id !== blocks[i].id)) throw new UserError("labels.jsonl does not match blocks.jsonl", "re-run `whp labels`");
    const main = meta.alphas[0];
    // Reviewed labels (whp labels --apply-review): how many verdicts, by kind, and the review file's
    // hash; the overrides themselves are in labels-meta.json.
    const labelReview = meta.review ? { file: meta.review.file, sha256: meta.review.sha256, verdicts: meta.review.verdicts, skipped: meta.review.skipped } : undefined;
    const totals = { blocks: blocks.length, tokens: 0, positions: 0, masked: 0, changed: 0, uncertified: meta.alphas.map(() => 0), anchorOccurrences: 0, unalignedOccurrences: 0 };
    const rows = blocks.map((block, i) => {
      const row: Record<string, unknown> = {
        id: block.id,
        source: block.doc,
        span: block.span,
        input_ids: block.input_ids,
        attention_mask: block.input_ids.map(() => 1),
      };
      meta.alphas.forEach((alpha, a) => {
        row[labelsColumn(alpha, main)] = labels[i].labels[a];
        totals.uncertified[a] += labels[i].uncertified[a];
      });
      const counts = countRow(block.input_ids, labels[i].labels[0]);
      row.counts = { ...counts, uncertified: labels[i].uncertified[0] };
      totals.tokens += block.input_ids.length;
      totals.positions += block.input_ids.length - 1;
      totals.masked += counts.masked;
      totals.changed += counts.changed;
      totals.anchorOccurrences += aligned[i].occurrences.length;
      totals.unalignedOccurrences += aligned[i].unaligned.length;
      // Built column by column so the columns keep their order; writeArtifact checks the shape.
      return row as TrainRow;
    });
    // Checked against the schema its readers use before anything is written (schemas/registry.ts).
    await writeArtifact(ctx, "train", rows);
    const tok = await ctx.tokenizer();
    const files = [];
    for (const name of EXPORTED) {
      const p = ctx.path(name);
      const bytes = await readFile(p);
      const isJsonl = ARTIFACTS[name].endsWith(".jsonl");
      files.push({ path: ARTIFACTS[name], bytes: (await stat(p)).size, sha256: sha256(bytes), ...(isJsonl ? { rows: countLines(bytes) } : {}) });
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
    await writeArtifact(ctx, "manifest", manifest);
    const dictionary = await readArtifact(ctx, "dictionary");
    const dataset = await writeDataset(ctx.config.runDir, {
      config: ctx.config,
      blocks,
      labels,
      aligned,
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

function countLines(bytes: Buffer): number {
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n++;
  return n;
}
