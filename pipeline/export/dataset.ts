/**
 * Writes the dataset folder (<run>/dataset/): one sub-folder per layout with train/validation JSONL,
 * the reinforcement dataset, the card (README.md) and manifest.json. The folder is built beside the
 * old one and swapped in, so a reader never sees half a dataset. Rows are streamed: one pass over the
 * run's rows writes every layout's files at once, each row going to the files it belongs in, so
 * memory stays at one row and the writers' buffers whatever the corpus's size (issue 17).
 */
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { publicConfig, type ResolvedConfig } from "../config.js";
import { replaceDirStaged, toJsonText, writeFileAtomic } from "../io/artifacts.js";
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
import { type DatasetFileWriter, openDatasetFile } from "./dataset-file.js";
import type { DatasetScan } from "./dataset-scan.js";
import { formatSpec, IGNORE, labelIds, type DatasetConfigName, type ExportBlock } from "./formats.js";
import { gitCommit } from "./git.js";
import { demonstrationNote, embeddedSources } from "./provenance.js";
import { recipeLengthWarnings } from "./recipes.js";
import { DATASET_MANIFEST_VERSION, type DatasetFile, type DatasetManifest } from "./manifest.js";
import { validationIndices } from "./split.js";

export const DATASET_DIR = "dataset";

/** One block with its labels and alignment: the three files read side by side, one row at a time. */
export interface DatasetRow {
  block: Block;
  labels: LabelRow;
  aligned: AlignedBlock;
}

export interface DatasetInputs {
  config: ResolvedConfig;
  /** Starts a fresh pass over the run's rows, in blocks.jsonl order (the export stage streams its
   * files: nothing here holds more than one row). */
  rows: () => AsyncIterable<DatasetRow>;
  /** What the split and the card need of the whole run before the rows are written (scanRows). */
  scan: DatasetScan;
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


function countIgnored(row: Record<string, unknown>, columns: readonly string[]): number {
  let n = 0;
  for (const c of columns) for (const v of row[c] as number[]) if (v === IGNORE) n++;
  return n;
}

/** One layout's split file while it is written: opened at its first row, so an empty split has none. */
interface SplitFile {
  path: string;
  rows: number;
  ignored: number;
  writer: DatasetFileWriter;
  done?: { sha256: string; bytes: number };
}

export async function writeDataset(runDir: string, inp: DatasetInputs): Promise<DatasetStats> {
  const cfg = inp.config.export;
  const { scan } = inp;
  const n = scan.blocks;
  // Indices of the held-out blocks: a few numbers per block, the only per-block state besides the scan.
  const validation = new Set(validationIndices(n, cfg.validationFraction, inp.config.seed));
  const hfColumns = cfg.alphaColumns ? inp.columns : inp.columns.slice(0, 1);
  const needText = cfg.formats.includes("text");
  const names: DatasetConfigName[] = [...cfg.formats, ...(cfg.reinforcement ? (["reinforcement"] as const) : [])];
  const specs = names.map((name) => ({ name, spec: formatSpec(name), labelCols: formatSpec(name).labelColumns(hfColumns) }));
  // A block whose every label is -100 (a short tail block inside an anchor) teaches nothing and would
  // fail `whp verify`; it is left out of the label layouts and listed in the manifest, never dropped silently.
  const untrainable = scan.untrainable;
  const skipped = [...untrainable.values()].map((id) => ({ id, reason: "no trained label" }));
  const open = new Map<string, SplitFile>();
  const embedded = embeddedSources(inp.models);
  const commit = await gitCommit();
  const tok = inp.tokenizer.info;
  let files: DatasetFile[] = [];

  const dir = join(runDir, DATASET_DIR);
  await replaceDirStaged(dir, async (staging) => {
    try {
      // Decoding is the slow part of the text layout (one tokenizer call per block and column).
      const progress = startProgress(inp.log, "export", n, { unit: "blocks" });
      let i = 0;
      for await (const { block: b, labels: row, aligned } of inp.rows()) {
        const labels = row.labels;
        const block: ExportBlock = { id: b.id, source: b.doc, inputIds: b.input_ids, labels: labels.slice(0, hfColumns.length), columns: hfColumns };
        if (needText) {
          const [original, translated, generic] = await Promise.all([inp.tokenizer.decode(b.input_ids), inp.tokenizer.decode(aligned.translated_ids), inp.tokenizer.decode(labelIds(labels[0]))]);
          block.text = { original, translated, generic };
        }
        for (const { name, spec, labelCols } of specs) {
          if (name !== "reinforcement" && untrainable.has(i)) continue;
          const split = name !== "reinforcement" && validation.has(i) ? "validation" : "train";
          const key = `${name}/${split}`;
          let file = open.get(key);
          if (!file) {
            const path = `${key}.jsonl${cfg.gzip ? ".gz" : ""}`;
            file = { path, rows: 0, ignored: 0, writer: await openDatasetFile(join(staging, path), cfg.gzip) };
            open.set(key, file);
          }
          const out = spec.row(block);
          file.ignored += countIgnored(out, labelCols);
          file.rows++;
          await file.writer.write(`${JSON.stringify(out)}\n`);
        }
        i++;
        progress.tick();
      }
      progress.done();
      if (i !== n) throw new Error(`export: ${i} rows on the second pass over blocks.jsonl, ${n} on the first (a file changed while exporting)`);
      for (const file of open.values()) file.done = await file.writer.close();
    } catch (e) {
      await Promise.all([...open.values()].filter((f) => !f.done).map((f) => f.writer.abort()));
      throw e;
    }

    if (skipped.length) inp.log.warn(`${skipped.length} block(s) with no trained label left out of the label layouts: ${skipped.map((x) => x.id).join(", ")}`);
    for (const w of recipeLengthWarnings(inp.config.blockSize)) inp.log.warn(`export: ${w}`);
    const note = demonstrationNote(embedded);
    if (note) inp.log.warn(`export: ${note}`);

    // Files and card entries in layout order, train before validation, as the card's configs list them.
    files = [];
    const cardConfigs: CardConfig[] = [];
    for (const { name, spec, labelCols } of specs) {
      const cardFiles = [];
      for (const split of ["train", "validation"]) {
        const file = open.get(`${name}/${split}`);
        if (!file?.done) continue;
        files.push({ path: file.path, bytes: file.done.bytes, sha256: file.done.sha256, config: name, split, rows: file.rows, ...(labelCols.length ? { ignoredLabels: file.ignored } : {}), gzip: cfg.gzip });
        cardFiles.push({ split, path: file.path, rows: file.rows });
      }
      cardConfigs.push({ name, summary: spec.summary, files: cardFiles, features: spec.features(hfColumns) });
    }

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
      labelCounts: { ...scan.labelCounts },
      embedded,
      counts: inp.counts,
      configs: cardConfigs,
    });
    const cardBytes = Buffer.from(card);
    files.push({ path: "README.md", bytes: cardBytes.length, sha256: sha256(cardBytes) });
    await writeFileAtomic(join(staging, "README.md"), cardBytes);

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
    await writeFileAtomic(join(staging, "manifest.json"), toJsonText(manifest));
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
