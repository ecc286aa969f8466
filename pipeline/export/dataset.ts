/**
 * Writes the dataset folder (<run>/dataset/): one sub-folder per layout with train/validation JSONL,
 * the reinforcement dataset, the card (README.md) and manifest.json. The folder is built beside the
 * old one and swapped in, so a reader never sees half a dataset.
 */
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { publicConfig, type ResolvedConfig } from "../config.js";
import { replaceDirStaged, toJsonText, toJsonlText, writeFileAtomic } from "../io/artifacts.js";
import { sha256 } from "../core/hash.js";
import type { Logger } from "../io/log.js";
import { startProgress } from "../io/progress.js";
import type { ModelTokenizer } from "../io/tokenizer.js";
import type { Dictionary } from "../schemas/dictionary.js";
import type { LabelRow } from "../schemas/labels.js";
import type { Block } from "../schemas/blocks.js";
import type { AlignedBlock } from "../schemas/aligned.js";
import { TOOL } from "../version.js";
import { buildCard, type CardConfig, type CardInfo } from "./card.js";
import { formatSpec, IGNORE, labelIds, type DatasetConfigName, type ExportBlock } from "./formats.js";
import { gitCommit } from "./git.js";
import { demonstrationNote, embeddedSources } from "./provenance.js";
import { recipeLengthWarnings } from "./recipes.js";
import { DATASET_MANIFEST_VERSION, type DatasetFile, type DatasetManifest } from "./manifest.js";
import { validationIndices } from "./split.js";

export const DATASET_DIR = "dataset";

export interface DatasetInputs {
  config: ResolvedConfig;
  blocks: readonly Block[];
  labels: readonly LabelRow[];
  aligned: readonly AlignedBlock[];
  alphas: readonly number[];
  /** Column name per alpha (`labels`, `labels_alpha_<a>`). */
  columns: readonly string[];
  models: DatasetManifest["models"];
  topK: number | "full";
  logitSpace: string;
  dictionary: Dictionary;
  tokenizer: ModelTokenizer;
  /** The run totals (as in the run manifest), for the card and the dataset manifest. */
  counts: CardInfo["counts"];
  log: Logger;
}

export interface DatasetStats {
  dir: string;
  configs: string[];
  train: number;
  validation: number;
  skipped: number;
  files: { path: string; rows: number; bytes: number }[];
}

export const LABEL_CONVENTIONS: Record<DatasetConfigName, string> = {
  hf: "labels[t] is the target for input_ids[t] (unshifted; the model shifts), -100 = ignored, labels[0] = -100",
  torchtune: "released torchtune (<= 0.6.1): tokens = input_ids, labels = the hf labels (unshifted, labels[0] = -100); the recipe's _loss_step shifts them",
  "torchtune-shifted": "torchtune main after commit b18312c7d (PR #2613): labels[t] is the target of the prediction at position t (pre-shifted: hf labels[t+1]), last = -100",
  text: "decoded text only",
  reinforcement: "labels = input_ids (plain language modelling; the model shifts)",
};

/** gzip with a header that is the same on every platform: zlib writes mtime 0 but its own OS code
 * (3 on Linux, 19 on macOS), so byte 9 is set to 255 ("unknown"), which RFC 1952 allows. */
export function gzipDeterministic(data: Buffer): Buffer {
  const out = gzipSync(data, { level: 9 });
  out[9] = 0xff;
  return out;
}

/** Trained and masked positions of the main labels over every block: trained = labels != -100;
 * masked = -100 after position 0 (anchor-internal or repeated); position 0 of each block, which no
 * prediction targets, is neither. */
export function countLabels(labels: readonly (readonly number[])[]): { trained: number; masked: number; firsts: number } {
  let trained = 0;
  let masked = 0;
  for (const row of labels) {
    for (let t = 0; t < row.length; t++) {
      if (row[t] !== IGNORE) trained++;
      else if (t > 0) masked++;
    }
  }
  return { trained, masked, firsts: labels.length };
}

function countIgnored(row: Record<string, unknown>, columns: readonly string[]): number {
  let n = 0;
  for (const c of columns) for (const v of row[c] as number[]) if (v === IGNORE) n++;
  return n;
}

export async function writeDataset(runDir: string, inp: DatasetInputs): Promise<DatasetStats> {
  const cfg = inp.config.export;
  const n = inp.blocks.length;
  const validation = new Set(validationIndices(n, cfg.validationFraction, inp.config.seed));
  const hfColumns = cfg.alphaColumns ? inp.columns : inp.columns.slice(0, 1);
  const needText = cfg.formats.includes("text");

  // Decoding is the slow part of the text layout (one tokenizer call per block and column).
  const progress = startProgress(inp.log, "export", n, { unit: "blocks" });
  const exportBlocks: ExportBlock[] = [];
  for (let i = 0; i < n; i++) {
    const b = inp.blocks[i];
    const labels = inp.labels[i].labels;
    const block: ExportBlock = { id: b.id, source: b.doc, inputIds: b.input_ids, labels: labels.slice(0, hfColumns.length), columns: hfColumns };
    if (needText) {
      const [original, translated, generic] = await Promise.all([
        inp.tokenizer.decode(b.input_ids),
        inp.tokenizer.decode(inp.aligned[i].translated_ids),
        inp.tokenizer.decode(labelIds(labels[0])),
      ]);
      block.text = { original, translated, generic };
    }
    exportBlocks.push(block);
    progress.tick();
  }
  progress.done();

  // A block whose every label is -100 (a short tail block inside an anchor) teaches nothing and would
  // fail `whp verify`; it is left out of the label layouts and listed in the manifest, never dropped silently.
  const untrainable = new Set(exportBlocks.flatMap((b, i) => (b.labels[0].some((l) => l >= 0) ? [] : [i])));
  const skipped = [...untrainable].map((i) => ({ id: exportBlocks[i].id, reason: "no trained label" }));
  if (skipped.length) inp.log.warn(`${skipped.length} block(s) with no trained label left out of the label layouts: ${skipped.map((x) => x.id).join(", ")}`);

  for (const w of recipeLengthWarnings(inp.config.blockSize)) inp.log.warn(`export: ${w}`);
  const embedded = embeddedSources(inp.models);
  const note = demonstrationNote(embedded);
  if (note) inp.log.warn(`export: ${note}`);

  const names: DatasetConfigName[] = [...cfg.formats, ...(cfg.reinforcement ? (["reinforcement"] as const) : [])];
  const out = new Map<string, Buffer>();
  const files: DatasetFile[] = [];
  const cardConfigs: CardConfig[] = [];
  for (const name of names) {
    const spec = formatSpec(name);
    const splits: [string, ExportBlock[]][] =
      name === "reinforcement"
        ? [["train", exportBlocks]]
        : [
            ["train", exportBlocks.filter((_, i) => !validation.has(i) && !untrainable.has(i))],
            ["validation", exportBlocks.filter((_, i) => validation.has(i) && !untrainable.has(i))],
          ];
    const cardFiles = [];
    for (const [split, blocks] of splits) {
      if (blocks.length === 0) continue;
      const rows = blocks.map((b) => spec.row(b));
      const labelCols = spec.labelColumns(hfColumns);
      const ignored = rows.reduce((s, r) => s + countIgnored(r, labelCols), 0);
      const text = Buffer.from(toJsonlText(rows));
      const bytes = cfg.gzip ? gzipDeterministic(text) : text;
      const path = `${name}/${split}.jsonl${cfg.gzip ? ".gz" : ""}`;
      out.set(path, bytes);
      files.push({ path, bytes: bytes.length, sha256: sha256(bytes), config: name, split, rows: rows.length, ...(labelCols.length ? { ignoredLabels: ignored } : {}), gzip: cfg.gzip });
      cardFiles.push({ split, path, rows: rows.length });
    }
    cardConfigs.push({ name, summary: spec.summary, files: cardFiles, features: spec.features(hfColumns) });
  }

  const commit = await gitCommit();
  const tok = inp.tokenizer.info;
  const card = buildCard({
    run: inp.config.run.name,
    tool: TOOL,
    commit,
    seed: inp.config.seed,
    tokenizer: { sha256: tok.sha256, vocabSize: tok.vocabSize, prefixSpecialIds: tok.prefixSpecialIds },
    models: inp.models,
    dictionary: { source: inp.dictionary.source, sha256: inp.dictionary.sha256, terms: inp.dictionary.entries.length },
    alphas: { main: inp.alphas[0], all: [...inp.alphas], columns: [...inp.columns] },
    topK: inp.topK,
    logitSpace: inp.logitSpace,
    blockSize: inp.config.blockSize,
    validationFraction: cfg.validationFraction,
    split: { blocks: n, validation: validation.size },
    labelCounts: countLabels(inp.labels.map((l) => l.labels[0])),
    embedded,
    counts: inp.counts,
    configs: cardConfigs,
  });
  const cardBytes = Buffer.from(card);
  out.set("README.md", cardBytes);
  files.push({ path: "README.md", bytes: cardBytes.length, sha256: sha256(cardBytes) });

  const manifest: DatasetManifest = {
    format: "whp-dataset",
    version: DATASET_MANIFEST_VERSION,
    tool: { ...TOOL },
    git: { commit },
    run: inp.config.run.name,
    ...(embedded.length ? { demonstrationOnly: true as const, embeddedModels: embedded } : {}),
    seed: inp.config.seed,
    config: publicConfig(inp.config),
    tokenizer: { sha256: tok.sha256, vocabSize: tok.vocabSize, prefixSpecialIds: tok.prefixSpecialIds },
    models: inp.models,
    dictionary: { source: inp.dictionary.source, sha256: inp.dictionary.sha256, terms: inp.dictionary.entries.length },
    alphas: { main: inp.alphas[0], all: [...inp.alphas], columns: [...hfColumns] },
    split: { validationFraction: cfg.validationFraction, train: n - validation.size, validation: validation.size },
    labelConventions: Object.fromEntries(names.map((name) => [name, LABEL_CONVENTIONS[name]])),
    counts: { ...inp.counts, skippedBlocks: skipped },
    files,
  };
  out.set("manifest.json", Buffer.from(toJsonText(manifest)));

  const dir = join(runDir, DATASET_DIR);
  await replaceDirStaged(dir, async (staging) => {
    for (const [path, bytes] of out) await writeFileAtomic(join(staging, path), bytes);
  });
  return {
    dir: DATASET_DIR,
    configs: names,
    train: n - validation.size,
    validation: validation.size,
    skipped: skipped.length,
    files: files.filter((f) => f.rows !== undefined).map((f) => ({ path: f.path, rows: f.rows ?? 0, bytes: f.bytes })),
  };
}
