/**
 * Next-token score rows: the one shape every logit source returns and the combination reads.
 *
 * Position convention (pinned by tests): for a sequence of n tokens, row i holds the distribution that
 * predicts token i + 1, i.e. the model's output after reading tokens 0..i.
 */

export const LOGIT_SPACES = ["logprobs", "logits"] as const;
/** Whether values are per-row normalised log-probabilities or raw logits: the WHP formula is not
 * invariant to per-row normalisation, so the space travels with the rows and into the manifest. */
export type LogitSpace = (typeof LOGIT_SPACES)[number];

/** Every token's value at every position: values[i * vocabSize + t]. */
export interface FullRows {
  readonly kind: "full";
  readonly n: number;
  readonly vocabSize: number;
  readonly values: Float32Array;
}

/**
 * A subset of tokens per position, stored CSR-style: row i holds ids[offsets[i] .. offsets[i+1]) with
 * their values. Rows may differ in length (vLLM adds the actual next token to its top k).
 * floor[i] is an upper bound on the value of every token that row i does not list: the k-th largest
 * value for a true top-k row, -Infinity when the row lists the whole vocabulary.
 */
export interface TopKRows {
  readonly kind: "topk";
  readonly n: number;
  readonly vocabSize: number;
  readonly offsets: Int32Array;
  readonly ids: Int32Array;
  readonly values: Float32Array;
  readonly floor: Float32Array;
}

export type Rows = FullRows | TopKRows;

/** How many entries to ask a source for: a number k, or the whole vocabulary. */
export type RowRequest = { readonly topK: number | "full" };

/** What a manifest and a cache key need to know about a model: JSON-serialisable, no secrets. */
export type ModelIdentity = Readonly<Record<string, string | number | boolean>>;

/** The interface every logit provider implements (embedded n-gram, vLLM, SGLang...). */
export interface LogitSource {
  readonly identity: ModelIdentity;
  readonly vocabSize: number;
  readonly logitSpace: LogitSpace;
  /** Longest sequence the model accepts; Infinity when it has no limit. */
  readonly maxModelLen: number;
  rows(tokens: readonly number[], request: RowRequest): Promise<Rows>;
}

/** Number of entries row i lists. */
export function rowLength(rows: Rows, i: number): number {
  return rows.kind === "full" ? rows.vocabSize : rows.offsets[i + 1] - rows.offsets[i];
}

/** Converts full rows to top-k rows (k = "full" keeps every token): used by tests and by sources
 * that compute full rows but were asked for top-k. Ties keep the smaller token id first. */
export function fullToTopK(rows: FullRows, k: number | "full"): TopKRows {
  const { n, vocabSize: V, values } = rows;
  const kk = k === "full" ? V : Math.min(k, V);
  const offsets = new Int32Array(n + 1);
  const ids = new Int32Array(n * kk);
  const vals = new Float32Array(n * kk);
  const floor = new Float32Array(n);
  const order = new Int32Array(V);
  for (let i = 0; i < n; i++) {
    const base = i * V;
    for (let t = 0; t < V; t++) order[t] = t;
    const sorted = Array.from(order).sort((a, b) => values[base + b] - values[base + a] || a - b);
    for (let j = 0; j < kk; j++) {
      ids[i * kk + j] = sorted[j];
      vals[i * kk + j] = values[base + sorted[j]];
    }
    offsets[i + 1] = (i + 1) * kk;
    floor[i] = kk === V ? -Infinity : values[base + sorted[kk - 1]];
  }
  return { kind: "topk", n, vocabSize: V, offsets, ids, values: vals, floor };
}
