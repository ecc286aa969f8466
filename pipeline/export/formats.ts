/**
 * The dataset layouts, as pure row builders: one block in, one JSON row out. A closed registry: the
 * compiler checks that every name in EXPORT_FORMATS has a builder, its features and its row checks.
 *
 * Label conventions (the reason this file exists; trainers differ and most fail silently). "Target of
 * logit t" is the token the loss asks the prediction made at position t (after reading tokens 0..t) to
 * give; whp's label for it is hf_labels[t + 1].
 * - hf: `labels[t]` is the target for `input_ids[t]`; the model's loss shifts (logits[:-1] vs labels[1:]),
 *   so `labels[0]` is never used and is -100.
 * - torchtune (the released convention, 0.6.1 and every release before it): the same unshifted labels
 *   under the name `tokens`. torchtune 0.6.1's `SFTTransform.__call__` (torchtune/datasets/_sft.py) sets
 *   labels = where(mask, CROSS_ENTROPY_IGNORE_IDX, tokens), and its recipes shift in `_loss_step`
 *   (recipes/full_finetune_single_device.py: labels = hstack(labels[..., 1:], ignore_labels_cache)).
 * - torchtune-shifted: labels[t] = hf_labels[t + 1], last = -100, for torchtune's main branch after
 *   commit b18312c7d (PR #2613, April 2025), which moved the shift into the dataset and removed it from
 *   the recipes. No release carries it; fed to 0.6.1 these labels train each position on the token two
 *   ahead, which is why this is an explicit option and not the default.
 * - text: decoded strings for reading and for text-based methods; no ids.
 */
import type { ExportFormat } from "./config.js";

export const IGNORE = -100;

/** Everything a row builder may need about one block, already decoded where text is needed. */
export interface ExportBlock {
  id: string;
  source: string;
  inputIds: readonly number[];
  /** hf-convention labels, one array per alpha, in the order of `columns`. */
  labels: readonly (readonly number[])[];
  columns: readonly string[];
  text?: { original: string; generic: string; translated: string };
}

/** One feature of a row as the dataset card declares it. */
export interface Feature {
  name: string;
  /** Hugging Face `datasets` value type: a scalar dtype, or a sequence of it. */
  dtype: "int8" | "int32" | "int64" | "string";
  sequence: boolean;
}

export interface FormatSpec {
  summary: string;
  /** Features, given the label columns of the run. */
  features(columns: readonly string[]): Feature[];
  row(block: ExportBlock): Record<string, unknown>;
  /** Name of the token column and of the label columns whose -100s the verifier checks. */
  tokens: string | null;
  labelColumns(columns: readonly string[]): string[];
  /** Where a -100 must be, beyond masked positions: `first` (unshifted: hf, torchtune) or `last`
   * (pre-shifted: torchtune-shifted) position. */
  ignoredAt: "first" | "last" | null;
  /** Plain language modelling: labels must equal the tokens. */
  labelsEqualTokens?: boolean;
}

const seq = (name: string, dtype: Feature["dtype"]): Feature => ({ name, dtype, sequence: true });
const str = (name: string): Feature => ({ name, dtype: "string", sequence: false });

/** Pre-shifted labels (torchtune main after b18312c7d) from hf-convention ones (see the header comment). */
export function shiftForTorchtune(hfLabels: readonly number[]): number[] {
  const out = hfLabels.slice(1);
  out.push(IGNORE);
  return out;
}

export const FORMATS: Record<ExportFormat, FormatSpec> = {
  hf: {
    summary: "input_ids, attention_mask, labels (unshifted, -100 = ignored) and labels_alpha_<a> per alpha variant",
    features: (columns) => [seq("input_ids", "int32"), seq("attention_mask", "int8"), ...columns.map((c) => seq(c, "int64"))],
    row: (b) => {
      const row: Record<string, unknown> = { input_ids: b.inputIds, attention_mask: b.inputIds.map(() => 1) };
      b.columns.forEach((c, a) => (row[c] = b.labels[a]));
      return row;
    },
    tokens: "input_ids",
    labelColumns: (columns) => [...columns],
    ignoredAt: "first",
  },
  torchtune: {
    summary: "tokens and labels for released torchtune (<= 0.6.1): labels unshifted as in hf (labels[0] = -100), the recipe shifts them",
    features: () => [seq("tokens", "int32"), seq("labels", "int64")],
    row: (b) => ({ tokens: b.inputIds, labels: b.labels[0] }),
    tokens: "tokens",
    labelColumns: () => ["labels"],
    ignoredAt: "first",
  },
  "torchtune-shifted": {
    summary: "tokens and labels pre-shifted for torchtune main after commit b18312c7d / PR #2613 (labels[t] = target of the prediction at t, last = -100); unreleased, wrong for torchtune 0.6.1",
    features: () => [seq("tokens", "int32"), seq("labels", "int64")],
    row: (b) => ({ tokens: b.inputIds, labels: shiftForTorchtune(b.labels[0]) }),
    tokens: "tokens",
    labelColumns: () => ["labels"],
    ignoredAt: "last",
  },
  text: {
    summary: "id, source, the original text, the anchored (translated) text and the decoded generic labels, side by side",
    features: () => [str("id"), str("source"), str("original"), str("translated"), str("generic")],
    row: (b) => ({ id: b.id, source: b.source, original: b.text?.original ?? "", translated: b.text?.translated ?? "", generic: b.text?.generic ?? "" }),
    tokens: null,
    labelColumns: () => [],
    ignoredAt: null,
  },
};

/** The reinforcement dataset: plain language modelling on the forget corpus (labels = input_ids). */
export const REINFORCEMENT: FormatSpec = {
  summary: "the forget corpus as pre-tokenized blocks for training the reinforced model: input_ids, attention_mask, labels = input_ids",
  features: () => [seq("input_ids", "int32"), seq("attention_mask", "int8"), seq("labels", "int64")],
  row: (b) => ({ input_ids: b.inputIds, attention_mask: b.inputIds.map(() => 1), labels: b.inputIds }),
  tokens: "input_ids",
  labelColumns: () => ["labels"],
  ignoredAt: null,
  labelsEqualTokens: true,
};

/** Every dataset "config" (in the Hugging Face card's sense) a dataset folder may hold. */
export type DatasetConfigName = ExportFormat | "reinforcement";
export function formatSpec(name: DatasetConfigName): FormatSpec {
  return name === "reinforcement" ? REINFORCEMENT : FORMATS[name];
}

/** The ids of the labels, decoded as one text: what the model is trained to say at each position. */
export function labelIds(labels: readonly number[]): number[] {
  return labels.filter((l) => l >= 0);
}
