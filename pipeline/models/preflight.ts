/**
 * Checks a served model must pass before the labels stage sends it any heavy work: it is up, it serves
 * the named model, it tokenizes like the local tokenizer.json (ids and special tokens), it accepts the
 * requested k, and its context length is known (so over-long blocks stop the run before it starts).
 */
import { UserError } from "../core/errors.js";
import type { LogitSource, LogitSpace, TopKRows } from "../core/rows.js";

export interface TokenizerSample {
  text: string;
  /** The local tokenizer's ids for `text`, special tokens (BOS) included, as blocks start. */
  ids: readonly number[];
}

export interface PreflightInput {
  topK: number | "full";
  samples: readonly TokenizerSample[];
}

/** A logit source behind a server: `preflight` must succeed before `rows` is called. */
export interface ServedLogitSource extends LogitSource {
  preflight(input: PreflightInput): Promise<void>;
  /** After the length checks, before the work: asks for the rows of `probe` (a short prefix of a
   * block) to learn the space the server's rows are in (logitSpace is set from it) and to check that
   * asking twice gives the same rows (warns otherwise: prefix caching). */
  probe(probe: readonly number[], topK: number | "full"): Promise<void>;
  /** Requests the source can have in flight at once (all replicas together). */
  readonly capacity: number;
  /** Cache hits and corrupt entries so far, for the stage's stats. */
  cacheStats(): { hits: number; corrupt: number };
  /** Exact natural-log probability of each of the sequence's own tokens after the ones before it:
   * entry j - 1 is for token j (-Infinity where the server reports -inf). For the evaluation. */
  tokenLogprobs(tokens: readonly number[]): Promise<number[]>;
  /** The server's greedy (temperature 0) continuation of `tokens`, at most maxTokens, as text. */
  complete(tokens: readonly number[], maxTokens: number): Promise<string>;
}

export function isServed(src: LogitSource): src is ServedLogitSource {
  return typeof (src as Partial<ServedLogitSource>).preflight === "function";
}

/** Compares a server's tokenization of a sample with the local one; throws naming the first difference. */
export function compareTokenization(where: string, sample: TokenizerSample, server: readonly number[]): void {
  const local = sample.ids;
  let i = 0;
  while (i < local.length && i < server.length && local[i] === server[i]) i++;
  if (i === local.length && i === server.length) return;
  const show = (ids: readonly number[]) => `[${ids.slice(Math.max(0, i - 2), i + 3).join(", ")}]`;
  throw new UserError(
    `${where} tokenizes differently from the local tokenizer.json: ${JSON.stringify(sample.text.slice(0, 60))}... ` +
      `first differs at token ${i} (local ${local.length} tokens, around ${show(local)}; server ${server.length} tokens, around ${show(server)})`,
    "serve the model whose tokenizer.json the config names, or set `tokenizer:` to the served model's tokenizer.json (special tokens such as BOS must match too)",
  );
}

/** A k above the server's limit fails before any request, naming the server flag that raises it. */
export function checkLogprobsLimit(where: string, topK: number | "full", maxLogprobs: number, flag: string): void {
  if (maxLogprobs === -1) return;
  if (topK === "full") {
    throw new UserError(`${where}: logits.topK is "full" but the server returns at most ${maxLogprobs} log-probs per position (server flag ${flag})`, `start the server with ${flag} -1 and set maxLogprobs: -1 for this model, or use a numeric logits.topK`);
  }
  if (topK > maxLogprobs) {
    throw new UserError(`${where}: logits.topK is ${topK} but the server returns at most ${maxLogprobs} log-probs per position (server flag ${flag})`, `start the server with ${flag} ${topK} (or higher) and set maxLogprobs to match, or lower logits.topK`);
  }
}

/** What the probe rows say about their space. Log-prob rows are normalised: over the whole vocabulary
 * their log-sum-exp is 0, and over any subset (a top-k row) it is at most 0. So:
 * - any row whose listed values log-sum-exp above 0 proves raw logits;
 * - full rows that all log-sum-exp to about 0 prove log-probs (logits that happen to be normalised
 *   are log-probs);
 * - top-k rows that never exceed 0 are consistent with log-probs but cannot prove it (all-negative
 *   logits whose top k sum below 1 look the same): "logprobs", flagged as not proved. Real LM logits
 *   have positive top values, so in practice the first rule catches them. */
export function detectLogitSpace(rows: TopKRows): { space: LogitSpace; proved: boolean; maxLse: number } {
  const TOL = 1e-3; // float32 values summed over up to a whole vocabulary
  let maxLse = -Infinity;
  let minLse = Infinity;
  let full = true;
  for (let i = 0; i < rows.n; i++) {
    const s = rows.offsets[i];
    const e = rows.offsets[i + 1];
    if (e - s < rows.vocabSize) full = false;
    let m = -Infinity;
    for (let j = s; j < e; j++) if (rows.values[j] > m) m = rows.values[j];
    if (m === -Infinity) continue;
    let sum = 0;
    for (let j = s; j < e; j++) sum += Math.exp(rows.values[j] - m);
    const lse = m + Math.log(sum);
    maxLse = Math.max(maxLse, lse);
    minLse = Math.min(minLse, lse);
  }
  if (maxLse > TOL) return { space: "logits", proved: true, maxLse };
  if (full) return minLse >= -TOL ? { space: "logprobs", proved: true, maxLse } : { space: "logits", proved: true, maxLse };
  return { space: "logprobs", proved: false, maxLse };
}

/** The first position where two answers for the same sequence differ by more than float noise, or -1.
 * Used by the prefix-caching check: one block asked twice, another request sharing its prefix in
 * between, must get the same rows (vLLM's prefix caching can return stale prompt log-probs for cached
 * positions, vLLM issue #42019). */
export function firstDifferingRow(a: TopKRows, b: TopKRows, tol = 1e-3): number {
  for (let i = 0; i < Math.min(a.n, b.n); i++) {
    const byId = new Map<number, number>();
    for (let j = b.offsets[i]; j < b.offsets[i + 1]; j++) byId.set(b.ids[j], b.values[j]);
    for (let j = a.offsets[i]; j < a.offsets[i + 1]; j++) {
      const other = byId.get(a.ids[j]);
      const v = a.values[j];
      // A token listed in one answer only is fine when it sits at the other's floor (a tie at the cut).
      if (other === undefined ? !(Math.abs(v - b.floor[i]) <= tol) : !(Math.abs(v - other) <= tol || v === other)) return i;
    }
  }
  return a.n === b.n ? -1 : Math.min(a.n, b.n);
}

/** The second request of the prefix-caching check: the probe's first half, then other tokens. */
export function divergentSequence(probe: readonly number[], vocabSize: number): number[] {
  const h = Math.max(1, probe.length >> 1);
  return [...probe.slice(0, h), ...probe.slice(h).map((t) => (t + 1) % vocabSize)];
}

/** The probe every served source runs on each replica: the probe sequence, a request sharing its
 * prefix, the probe again. Warns (naming the replica) when the two answers differ; returns the space
 * each replica's rows are in. */
export async function probeReplicas<E extends { url: string }>(
  where: string,
  endpoints: readonly E[],
  ask: (tokens: readonly number[], ep: E) => Promise<TopKRows>,
  probe: readonly number[],
  vocabSize: number,
  warn: ((message: string) => void) | undefined,
): Promise<{ url: string; space: LogitSpace; proved: boolean; maxLse: number }[]> {
  const out = [];
  for (const ep of endpoints) {
    const first = await ask(probe, ep);
    await ask(divergentSequence(probe, vocabSize), ep);
    const again = await ask(probe, ep);
    const row = firstDifferingRow(first, again);
    if (row >= 0) {
      warn?.(
        `${where} at ${ep.url}: the same sequence asked twice gave different rows (first at position ${row}) after a request sharing its prefix: the server's prefix caching can return stale prompt log-probs (vLLM issue #42019); restart it without prefix caching (vLLM: --no-enable-prefix-caching), or the labels may depend on request order`,
      );
    }
    out.push({ url: ep.url, ...detectLogitSpace(first) });
  }
  return out;
}
