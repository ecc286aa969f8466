/**
 * The dataset card: README.md in the Hugging Face convention (YAML front matter with `configs` and
 * `dataset_info` features, then prose). Pure: built from the facts the manifest also records.
 */
import { stringify } from "yaml";
import type { Feature } from "./formats.js";
import { demonstrationNote, type EmbeddedSource } from "./provenance.js";

export interface CardFile {
  split: string;
  path: string;
  rows: number;
}

export interface CardConfig {
  name: string;
  summary: string;
  files: CardFile[];
  features: Feature[];
}

export interface CardInfo {
  run: string;
  tool: { name: string; version: string };
  commit: string;
  seed: number;
  tokenizer: { sha256: string; vocabSize: number; prefixSpecialIds: number[] };
  models: Record<string, Record<string, string | number | boolean>>;
  dictionary: { source: string; sha256: string; terms: number };
  alphas: { main: number; all: number[]; columns: string[] };
  topK: number | "full";
  logitSpace: string;
  blockSize: number;
  validationFraction: number;
  /** Blocks in the run and blocks actually held out (the split's count, not the fraction). */
  split: { blocks: number; validation: number };
  /** The main labels counted exactly (see addToScan in dataset-scan.ts). */
  labelCounts: { trained: number; masked: number; firsts: number };
  /** Embedded logit sources; empty when every model was served. */
  embedded: EmbeddedSource[];
  counts: { blocks: number; tokens: number; positions: number; masked: number; changed: number; uncertified: number[]; anchorOccurrences: number; unalignedOccurrences: number };
  configs: CardConfig[];
}

/** The Hub's size buckets, by the number of rows of the main config. */
export function sizeCategory(rows: number): string {
  const buckets: [number, string][] = [
    [1e3, "n<1K"],
    [1e4, "1K<n<10K"],
    [1e5, "10K<n<100K"],
    [1e6, "100K<n<1M"],
    [1e7, "1M<n<10M"],
    [1e8, "10M<n<100M"],
    [1e9, "100M<n<1B"],
    [1e10, "1B<n<10B"],
    [1e11, "10B<n<100B"],
    [1e12, "100B<n<1T"],
  ];
  for (const [limit, name] of buckets) if (rows < limit) return name;
  return "n>1T";
}

/** A feature as `dataset_info.features` writes it. */
export function featureYaml(f: Feature): Record<string, string> {
  return f.sequence ? { name: f.name, sequence: f.dtype } : { name: f.name, dtype: f.dtype };
}

export const LICENSE_PLACEHOLDER = "other";

/** A share as the card prints it: one decimal, of a total that may be 0. */
export function percent(part: number, total: number): string {
  return `${((100 * part) / Math.max(1, total)).toFixed(1)}%`;
}

/** The held-out line: the count the split drew and its real share (a fraction of 5% of two blocks
 * still holds out one, i.e. 50%). */
export function heldOutLine(split: CardInfo["split"], fraction: number): string {
  if (split.validation === 0) return `no blocks held out for validation (validationFraction ${fraction}${fraction > 0 ? ", and fewer than two blocks" : ""})`;
  return `${split.validation} of ${split.blocks} blocks (${percent(split.validation, split.blocks)}) held out for validation (validationFraction ${fraction}; seeded, by block)`;
}

export function buildCard(info: CardInfo): string {
  const mainRows = info.configs[0]?.files.reduce((s, f) => s + f.rows, 0) ?? 0;
  const front = {
    // The licence of the data is the licence of the user's corpus: whp cannot know it.
    license: LICENSE_PLACEHOLDER,
    task_categories: ["text-generation"],
    language: ["en"],
    tags: ["unlearning", "whos-harry-potter", "pre-tokenized", "whp"],
    size_categories: [sizeCategory(mainRows)],
    configs: info.configs.map((c, i) => ({
      config_name: i === 0 ? "default" : c.name,
      data_files: c.files.map((f) => ({ split: f.split, path: f.path })),
    })),
    dataset_info: info.configs.map((c, i) => ({
      config_name: i === 0 ? "default" : c.name,
      features: c.features.map(featureYaml),
      splits: c.files.map((f) => ({ name: f.split, num_examples: f.rows })),
    })),
  };
  const yamlText = stringify(front, { lineWidth: 0 }).replace(/^license: other$/m, "license: other # set the licence of your corpus here");
  const c = info.counts;
  const lc = info.labelCounts;
  const predicted = lc.trained + lc.masked;
  const pct = (x: number) => percent(x, predicted);
  const note = demonstrationNote(info.embedded);
  const warning = note
    ? [
        `> **Demonstration data only: do not fine-tune a real model on it.** The labels were made by whp's embedded sandbox model(s) (${info.embedded.map((s) => `${s.role}: ${s.provider}`).join(", ")}), small models trained on the run's own corpus, not by the model to unlearn. \`manifest.json\` records \`"demonstrationOnly": true\`. Serve your real baseline and reinforced models (vLLM or SGLang) and re-run to get labels worth training on.`,
        "",
      ]
    : [];
  const models = Object.entries(info.models).map(([role, id]) => `- ${role}: ${Object.entries(id).map(([k, v]) => `${k}=${v}`).join(", ")}`);
  const configs = info.configs.map((cfg, i) => `- \`${i === 0 ? "default" : cfg.name}\` (${cfg.name}): ${cfg.summary}; ${cfg.files.map((f) => `${f.split} ${f.rows} rows in \`${f.path}\``).join(", ")}`);
  const body = [
    `# ${info.run}: generic-label unlearning data`,
    "",
    ...warning,
    `Built by ${info.tool.name} ${info.tool.version} (commit ${info.commit}) with the "Who's Harry Potter" method (Eldan & Russinovich, arXiv 2310.02238): blocks of the corpus to forget, each token labelled with what a model that never read the corpus would predict.`,
    "",
    "## Configurations",
    "",
    ...configs,
    "",
    "## How it was made",
    "",
    `- Tokenizer: sha256 ${info.tokenizer.sha256}, vocabulary ${info.tokenizer.vocabSize}, leading special ids [${info.tokenizer.prefixSpecialIds.join(", ")}] on every block`,
    `- Block size ${info.blockSize} tokens (at most: a document's last block is shorter); seed ${info.seed}; ${heldOutLine(info.split, info.validationFraction)}`,
    `- Anchor dictionary: ${info.dictionary.terms} approved terms from \`${info.dictionary.source}\` (sha256 ${info.dictionary.sha256})`,
    `- Alpha ${info.alphas.main} in \`labels\`; variants ${info.alphas.all.slice(1).join(", ") || "none"} in ${info.alphas.columns.slice(1).map((x) => `\`${x}\``).join(", ") || "no extra columns"}`,
    `- Logits: top-${info.topK} rows, ${info.logitSpace}`,
    "- Models:",
    ...models.map((m) => `  ${m}`),
    "",
    "## Counts",
    "",
    `- ${c.blocks} blocks, ${c.tokens} tokens, ${predicted} predicted positions (every token after a block's first)`,
    `- trained (labels != -100): ${lc.trained} (${pct(lc.trained)})`,
    `- masked (-100, anchor-internal or repeated): ${lc.masked} (${pct(lc.masked)}); the first position of each of the ${lc.firsts} blocks is -100 as well (no prediction targets it)`,
    `- changed (label differs from the original next token): ${c.changed} (${pct(c.changed)})`,
    `- uncertified top-k labels per alpha: ${info.alphas.all.map((a, i) => `${a}: ${c.uncertified[i] ?? 0}`).join(", ")}`,
    `- anchor occurrences ${c.anchorOccurrences}, left untranslated ${c.unalignedOccurrences}`,
    "",
    "## Use",
    "",
    "Train with your own trainer on the pre-tokenized rows: do not pack and do not let the trainer rebuild `labels` from `input_ids` (see the whp README, \"Exporting for trainers\", for the trainer versions that keep them). Rows are at most the block size and a document's last block is shorter: let the trainer pad `labels` with -100. `torchtune` is for released torchtune (<= 0.6.1), `torchtune-shifted` only for torchtune's main branch after commit b18312c7d. `manifest.json` lists every file with its sha256; `whp verify <this folder>` checks files and rows.",
    "",
    "## Licence",
    "",
    "The data derives from the corpus you supplied: set `license:` above to that corpus's licence before sharing.",
    "",
  ];
  return `---\n${yamlText}---\n\n${body.join("\n")}`;
}
