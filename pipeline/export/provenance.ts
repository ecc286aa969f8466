/**
 * Which logit sources made a dataset's labels: the embedded sandbox models (n-grams trained on the
 * run's own corpus) make labels for demonstrating and testing the pipeline, never for fine-tuning a real
 * LLM. Every place a dataset is described (card, manifests, run summary, `whp verify`) says so from this
 * one rule; labels from served models carry no such note.
 */
import { SERVED_PROVIDERS } from "../models/registry.js";

export interface EmbeddedSource {
  role: string;
  provider: string;
}

/** The roles whose model is not a served one. A model identity without a provider (written by
 * something else) counts as embedded: the note errs towards warning. */
export function embeddedSources(models: Record<string, Record<string, string | number | boolean>>): EmbeddedSource[] {
  const served = SERVED_PROVIDERS as readonly string[];
  return Object.entries(models)
    .map(([role, id]) => ({ role, provider: typeof id.provider === "string" ? id.provider : "unknown" }))
    .filter((s) => !served.includes(s.provider));
}

/** One sentence for logs and `whp verify`; null when every logit source was a served model. */
export function demonstrationNote(embedded: readonly EmbeddedSource[]): string | null {
  if (embedded.length === 0) return null;
  const which = embedded.map((s) => `${s.role}: ${s.provider}`).join(", ");
  return `demonstration data only: the labels were made by whp's embedded sandbox model(s) (${which}), not by the model to unlearn; do not fine-tune a real model on them`;
}
