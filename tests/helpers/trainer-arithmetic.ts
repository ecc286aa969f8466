/**
 * The label arithmetic of the trainers the README's recipes use, written from their released sources,
 * so tests can ask "which token does the loss ask logit t to predict?" of rows whp actually exported.
 * Each function mirrors one step; the citations are where the step lives.
 *
 * - `padRight`: every collator used here pads labels with -100 on the right (transformers
 *   `DataCollatorForSeq2Seq(label_pad_token_id=-100)`; TRL's own `DataCollatorForLanguageModeling`,
 *   `pad(labels, padding_value=-100)`; torchtune 0.6.1 `padded_collate_sft`, `ignore_idx`).
 * - `hfModelTargets`: transformers causal-LM loss (`ForCausalLMLoss`): pad labels with one -100 and
 *   take labels[..., 1:], i.e. logits[:, :-1] against labels[:, 1:].
 * - `torchtuneReleaseTargets`: torchtune 0.6.1 `recipes/full_finetune_single_device.py` `_loss_step`:
 *   labels = hstack(labels[..., 1:], ignore_labels_cache): the same shift, done by the recipe.
 * - `torchtuneMainTargets`: torchtune main after commit b18312c7d (PR #2613): the recipe no longer shifts;
 *   logit t is compared with labels[t].
 * - TRL column handling and default collators by release: `trlSignatureColumns`, `trlDefaultLabels`.
 */
export const IGNORE = -100;
export type Row = Record<string, unknown>;

const ints = (row: Row, key: string): number[] => {
  const v = row[key];
  if (!Array.isArray(v)) throw new Error(`row has no column "${key}" (columns: ${Object.keys(row).join(", ")})`);
  return v as number[];
};

/** A batch's labels padded on the right with -100 to its longest row. */
export function padRight(labels: readonly (readonly number[])[], value = IGNORE): number[][] {
  const L = Math.max(...labels.map((l) => l.length));
  return labels.map((l) => [...l, ...Array<number>(L - l.length).fill(value)]);
}

/** transformers' causal-LM loss: the target of logit t is labels[t + 1]; the last logit has none. */
export function hfModelTargets(batchLabels: readonly (readonly number[])[]): number[][] {
  return batchLabels.map((l) => [...l.slice(1), IGNORE]);
}

/** torchtune 0.6.1's recipe shift (hstack(labels[..., 1:], ignore)): the same arithmetic as the model's. */
export const torchtuneReleaseTargets = hfModelTargets;

/** torchtune main after b18312c7d: labels are used as they are. */
export function torchtuneMainTargets(batchLabels: readonly (readonly number[])[]): number[][] {
  return batchLabels.map((l) => [...l]);
}

/** Columns `remove_unused_columns=True` (the default) keeps in SFTTrainer, by TRL release:
 * up to 0.16 the model's forward signature (transformers' own rule: input_ids, attention_mask, labels...);
 * 0.17.0-0.18.2 SFTTrainer's override ["input_ids", "attention_mask", "completion_mask"];
 * from 0.19.0 (PR #3589) ["input_ids", "labels", "position_ids", "completion_mask", "assistant_masks"]. */
export function trlSignatureColumns(version: [number, number]): string[] {
  const [maj, min] = version;
  const v = maj * 100 + min;
  if (v <= 16) return ["input_ids", "attention_mask", "labels"];
  if (v <= 18) return ["input_ids", "attention_mask", "completion_mask"];
  return ["input_ids", "labels", "position_ids", "completion_mask", "assistant_masks"];
}

export function keepColumns(row: Row, columns: readonly string[]): Row {
  return Object.fromEntries(Object.entries(row).filter(([k]) => columns.includes(k)));
}

/** The labels SFTTrainer's default collator builds (no `data_collator` passed):
 * up to 0.16.0 transformers' DataCollatorForLanguageModeling(mlm=False) and in 0.16.1-0.18.2 TRL's own
 * collator both set labels = input_ids; from 0.19.0 TRL's collator uses `labels` when the row has it
 * (`if "labels" in examples[0]`). */
export function trlDefaultLabels(version: [number, number], rows: readonly Row[]): number[][] {
  const v = version[0] * 100 + version[1];
  return rows.map((r) => (v >= 19 && "labels" in r ? ints(r, "labels") : ints(r, "input_ids")));
}

/** `DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)`: labels as the rows hold them. */
export function seq2SeqLabels(rows: readonly Row[]): number[][] {
  return rows.map((r) => ints(r, "labels"));
}

/** TRL >= 0.19 dataset preparation of rows that already have input_ids: no tokenizing, then
 * `truncate_dataset(dataset, max_length)` slices every list column (trl/data_utils.py). */
export function trlTruncate(row: Row, maxLength: number): Row {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Array.isArray(v) ? v.slice(0, maxLength) : v]));
}

/** axolotl before training: rows longer than `sequence_len` are dropped by default
 * (`excess_length_strategy: drop`; `drop_long_seq` before v0.12.2). */
export function axolotlKeep(row: Row, sequenceLen: number): boolean {
  const n = ints(row, "input_ids").length;
  return n > 0 && n <= sequenceLen;
}

/** Batches of `size` rows, in order (the arithmetic does not depend on the shuffle). */
export function batches<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/** What whp means each logit to learn, from its hf labels: logit t -> hf_labels[t + 1]. */
export function intendedTargets(hfLabels: readonly number[]): number[] {
  return [...hfLabels.slice(1), IGNORE];
}

/** Compares a batch's computed targets with whp's intended ones, row by row, padding included (padded
 * logits must train nothing). Returns the mismatches as readable strings (empty = every trained
 * position's target is whp's label and no label is lost). */
export function compareTargets(computed: readonly (readonly number[])[], intended: readonly (readonly number[])[], ids: readonly string[]): string[] {
  const bad: string[] = [];
  computed.forEach((row, i) => {
    const want = intended[i];
    for (let t = 0; t < row.length; t++) {
      const expected = t < want.length ? want[t] : IGNORE;
      if (row[t] !== expected) bad.push(`${ids[i]} logit ${t}: trainer target ${row[t]}, whp label ${expected}`);
    }
    if (row.length < want.length) bad.push(`${ids[i]}: ${want.length - row.length} logits cut off`);
  });
  return bad;
}
