/**
 * Checks a served model must pass before the labels stage sends it any heavy work: it is up, it serves
 * the named model, it tokenizes like the local tokenizer.json (ids and special tokens), it accepts the
 * requested k, and its context length is known (so over-long blocks stop the run before it starts).
 */
import { UserError } from "../core/errors.js";
import type { LogitSource } from "../core/rows.js";

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
