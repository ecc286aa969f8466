/**
 * The offline sandbox: the embedded n-gram models rebuilt for evaluation, plus the `unlearned` model,
 * which is the baseline "fine-tuned" on the emitted dataset: every labelled position's count moves
 * from the original next token to its generic label (trainKneserNeyWithTargets with targets = labels).
 *
 * All four models are trained without the held-out general blocks, so retain perplexity is measured on
 * text none of them read. They therefore differ slightly from the models the labels stage used (which
 * read every general block); the evaluation's identities say so.
 */
import { UserError } from "../core/errors.js";
import { type NgramModel, type NgramTargetSequence, trainKneserNeyWithTargets } from "../models/ngram.js";
import { ngramModelSchema, type NgramModelSpec } from "../models/registry.js";
import type { TokenBlock } from "./prompts.js";
import { EVAL_MODELS, type EvalModelName } from "./cli-defaults.js";

export { EVAL_MODELS, type EvalModelName };

export interface TrainRow {
  id: string;
  input_ids: readonly number[];
  labels: readonly number[];
}

export interface SandboxData {
  vocabSize: number;
  /** General blocks minus the held-out retain slice. */
  general: readonly TokenBlock[];
  forget: readonly TokenBlock[];
  /** The fine-tuning rows (train.jsonl), one per forget block, same order. */
  train: readonly TrainRow[];
}

export interface SandboxSpecs {
  baseline: unknown;
  reinforced: unknown;
  oracle?: unknown;
}

/** The n-gram spec a model name is trained from; the unlearned model starts from the baseline's. */
export function sandboxSpec(name: EvalModelName, specs: SandboxSpecs): NgramModelSpec {
  const role = name === "unlearned" ? "baseline" : name;
  const raw = role === "oracle" ? (specs.oracle ?? { ...(specs.baseline as object), forgetWeight: 0 }) : specs[role];
  const parsed = ngramModelSchema.safeParse(raw);
  if (!parsed.success) {
    const provider = (raw as { provider?: unknown } | undefined)?.provider;
    throw new UserError(
      `models.${role}: the offline sandbox evaluates embedded n-gram models only, got provider ${JSON.stringify(provider)}`,
      "evaluate a run whose models use `provider: ngram` (served models need the model-server providers)",
    );
  }
  if (role === "oracle" && parsed.data.forgetWeight !== 0) {
    throw new UserError(`models.oracle.forgetWeight is ${parsed.data.forgetWeight}: the oracle must never see the forget corpus`, "set models.oracle.forgetWeight to 0");
  }
  return parsed.data;
}

/** Checks that train.jsonl holds exactly the forget blocks, in order, before its labels are applied. */
export function checkTrainRows(forget: readonly TokenBlock[], train: readonly TrainRow[]): void {
  if (train.length !== forget.length) throw new UserError(`train.jsonl has ${train.length} rows but blocks.jsonl has ${forget.length}`, "re-run `whp export`");
  train.forEach((row, i) => {
    const b = forget[i];
    if (row.id !== b.id) throw new UserError(`train.jsonl row ${i + 1}: expected block ${b.id}, got ${row.id}`, "re-run `whp export`");
    if (row.labels.length !== row.input_ids.length || row.input_ids.some((t, p) => t !== b.input_ids[p]) || row.input_ids.length !== b.input_ids.length) {
      throw new UserError(`train.jsonl row ${i + 1} (${row.id}): input_ids/labels do not match the block`, "re-run `whp export`");
    }
  });
}

/** The training sequences of one sandbox model (pure; exposed for tests). */
export function sandboxSequences(name: EvalModelName, spec: NgramModelSpec, data: SandboxData): NgramTargetSequence[] {
  const seqs: NgramTargetSequence[] = [];
  if (spec.generalWeight > 0) for (const b of data.general) seqs.push({ tokens: b.input_ids, weight: spec.generalWeight });
  if (spec.forgetWeight > 0) {
    if (name === "unlearned") {
      checkTrainRows(data.forget, data.train);
      // labels[0] is never a target (the trainer shifts labels left), so position 0 keeps its token.
      data.train.forEach((row) => seqs.push({ tokens: row.input_ids, weight: spec.forgetWeight, targets: [-100, ...row.labels.slice(1)] }));
    } else {
      for (const b of data.forget) seqs.push({ tokens: b.input_ids, weight: spec.forgetWeight });
    }
  }
  if (seqs.length === 0) throw new UserError(`the ${name} model has nothing to learn from (both weights 0)`, "give it a positive generalWeight or forgetWeight");
  return seqs;
}

export function trainSandboxModel(name: EvalModelName, specs: SandboxSpecs, data: SandboxData): NgramModel {
  const spec = sandboxSpec(name, specs);
  return trainKneserNeyWithTargets(sandboxSequences(name, spec, data), {
    order: spec.order,
    vocabSize: data.vocabSize,
    name: `${name}:eval:g${spec.generalWeight}f${spec.forgetWeight}`,
  });
}
