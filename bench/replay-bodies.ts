/**
 * Response bodies in vLLM's released /v1/completions shape for the replay server (replay-server.ts),
 * built as text the way vLLM's JSONResponse writes them (compact JSON, keys in its field order):
 *   {"id":"cmpl-…","object":"text_completion","created":…,"model":…,"choices":[{"index":0,"text":…,
 *    "logprobs":null,"finish_reason":"length","stop_reason":null,"prompt_logprobs":[null,{…},…]}],
 *    "usage":{"prompt_tokens":…,"total_tokens":…,"completion_tokens":1,"prompt_tokens_details":null}}
 * Each prompt_logprobs entry is {"<id>":{"logprob":…,"rank":…,"decoded_token":…}}: the prompt's
 * actual token first (vLLM builds the dict from [actual] + top k), then the top k by rank. Values are
 * float32 log-probabilities written as Python writes a float (JSON.stringify of the float32 value
 * gives the same shortest digits), top-k rows holding at most 95% of the mass (so they log-sum-exp
 * below 0, as vLLM V1's log-softmaxed prompt path does) and full rows a whole normalised vocabulary.
 * The content is seeded by the model name and the prompt: asking twice gives the same bytes (the
 * stage's prefix-cache probe passes). Pure.
 */
import { seededRandom } from "../pipeline/core/hash.js";

/** decoded_token strings per id, JSON-encoded once (from the tokenizer's vocabulary). */
export type DecodedTokens = readonly string[];

/** The vocabulary's pieces as vLLM decodes them ("▁" is a space), JSON-encoded. */
export function decodedTokens(tokenizerJson: { model: { vocab: Record<string, number> } }): string[] {
  const out: string[] = [];
  for (const [piece, id] of Object.entries(tokenizerJson.model.vocab)) out[id] = JSON.stringify(piece.replace(/\u2581/g, " "));
  for (let i = 0; i < out.length; i++) out[i] ??= '""';
  return out;
}

function seedOf(model: string, prompt: readonly number[]): number {
  let h = 2166136261;
  for (let i = 0; i < model.length; i++) h = Math.imul(h ^ model.charCodeAt(i), 16777619);
  for (const t of prompt) h = Math.imul(h ^ t, 16777619);
  return h >>> 0;
}

const entry = (id: number, logprob: number, rank: number, decoded: DecodedTokens) => `"${id}":{"logprob":${JSON.stringify(Math.fround(logprob))},"rank":${rank},"decoded_token":${decoded[id]}}`;

/** One top-k row predicting `actual`: k distinct ids, Zipf-like probabilities over 50-95% of the mass;
 * the actual token first, with its own rank (inside or below the top k). */
function topRow(r: () => number, k: number, vocabSize: number, actual: number, decoded: DecodedTokens): string {
  const ids: number[] = [];
  const seen = new Set<number>();
  // The actual token is in the top k about half the time, as in real text.
  if (r() < 0.5) {
    ids.push(actual);
    seen.add(actual);
  }
  while (ids.length < k) {
    const id = Math.floor(r() * vocabSize);
    if (!seen.has(id)) (seen.add(id), ids.push(id));
  }
  // Shuffle so the actual token's rank varies.
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  const mass = 0.5 + 0.45 * r();
  let z = 0;
  for (let s = 1; s <= k; s++) z += 1 / s ** 1.2;
  const values = ids.map((_, s) => Math.log((mass / z) / (s + 1) ** 1.2));
  const at = ids.indexOf(actual);
  const parts: string[] = [];
  if (at >= 0) parts.push(entry(actual, values[at], at + 1, decoded));
  else parts.push(entry(actual, values[k - 1] - 0.5 - 4 * r(), k + 1 + Math.floor(r() * Math.min(1000, vocabSize - k - 1)), decoded));
  for (let s = 0; s < k; s++) if (s !== at) parts.push(entry(ids[s], values[s], s + 1, decoded));
  return `{${parts.join(",")}}`;
}

/** One full row: every id, a random order, Zipf-like probabilities normalised over the vocabulary. */
function fullRow(r: () => number, vocabSize: number, actual: number, decoded: DecodedTokens, perm: Int32Array, logp: Float64Array): string {
  for (let i = vocabSize - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  const parts = new Array<string>(vocabSize);
  let rankOfActual = 0;
  for (let s = 0; s < vocabSize; s++) if (perm[s] === actual) rankOfActual = s;
  parts[0] = entry(actual, logp[rankOfActual], rankOfActual + 1, decoded);
  let q = 1;
  for (let s = 0; s < vocabSize; s++) if (s !== rankOfActual) parts[q++] = entry(perm[s], logp[s], s + 1, decoded);
  return `{${parts.join(",")}}`;
}

/** The body for a /v1/completions request of `prompt` with prompt_logprobs `k` (k >= vocabSize: full). */
export function completionBody(model: string, prompt: readonly number[], k: number, vocabSize: number, decoded: DecodedTokens): string {
  const r = seededRandom(seedOf(model, prompt));
  const rows: string[] = ["null"];
  if (k >= vocabSize) {
    const perm = Int32Array.from({ length: vocabSize }, (_, i) => i);
    const logp = new Float64Array(vocabSize);
    let z = 0;
    for (let s = 0; s < vocabSize; s++) z += 1 / (s + 1) ** 1.1;
    for (let s = 0; s < vocabSize; s++) logp[s] = Math.log(1 / (s + 1) ** 1.1 / z);
    for (let j = 1; j < prompt.length; j++) rows.push(fullRow(r, vocabSize, prompt[j], decoded, perm, logp));
  } else {
    for (let j = 1; j < prompt.length; j++) rows.push(topRow(r, k, vocabSize, prompt[j], decoded));
  }
  const n = prompt.length;
  return (
    `{"id":"cmpl-${seedOf(model, prompt).toString(16)}","object":"text_completion","created":1764590400,"model":${JSON.stringify(model)},` +
    `"choices":[{"index":0,"text":" the","logprobs":null,"finish_reason":"length","stop_reason":null,"prompt_logprobs":[${rows.join(",")}]}],` +
    `"usage":{"prompt_tokens":${n},"total_tokens":${n + 1},"completion_tokens":1,"prompt_tokens_details":null}}`
  );
}
