/**
 * SGLang as a logit source: its native POST /generate with
 *   input_ids, sampling_params {max_new_tokens: 1, temperature: 0},
 *   return_logprob: true, logprob_start_len: 0, top_logprobs_num: k.
 * meta_info.input_top_logprobs[j] (j >= 1) lists [logprob, token id, text] for the top k that predicted
 * token j (entry 0 is null); meta_info.output_top_logprobs[0] is the row after the prompt.
 * SGLang has no /tokenize: the tokenizer check sends the sample as `text` and reads the server's ids
 * back from meta_info.input_token_logprobs.
 */
import { z } from "zod";
import { UserError } from "../core/errors.js";
import type { ModelIdentity, RowRequest, Rows, TopKRows } from "../core/rows.js";
import { cached } from "./cache.js";
import { EndpointPool, HttpStatusError, ResponseShapeError, fetchJson, timed, withRetry, type RetryPolicy } from "./http-retry.js";
import { checkLogprobsLimit, compareTokenization, type PreflightInput, type ServedLogitSource } from "./preflight.js";
import { RowsBuilder, type ActualTokenMode } from "./server-rows.js";
import { answered, answeredLogprobs } from "./answer-cache.js";
import { apiKeyFrom, retryPolicy, servedOptions, type SourceDeps } from "./vllm.js";

export const sglangModelSchema = z
  .object({
    provider: z.literal("sglang"),
    /** Only for the manifest and the cache key: an SGLang server serves one model. */
    model: z.string().min(1),
    ...servedOptions,
    /** Largest top_logprobs_num to ask for (-1: no limit). */
    maxLogprobs: z.number().int().min(-1).default(-1),
  })
  .strict();
export type SglangModelSpec = z.output<typeof sglangModelSchema>;

type Triple = [number | null, number, unknown];

function addTriples(b: RowsBuilder, list: unknown, where: string): void {
  if (!Array.isArray(list)) throw new ResponseShapeError(`${where} is not a list`);
  for (const t of list as Triple[]) {
    if (!Array.isArray(t) || t.length < 2) throw new ResponseShapeError(`${where}: expected [logprob, token_id, text] entries`);
    b.add(t[1], t[0] === null ? -Infinity : t[0]);
  }
  b.endRow();
}

/** Reads one /generate response body into rows for a prompt of n tokens. Pure. */
export function parseSglangGenerate(body: unknown, tokens: readonly number[], k: number | "full", vocabSize: number, actualToken: ActualTokenMode): TopKRows {
  const n = tokens.length;
  const meta = (body as { meta_info?: { input_top_logprobs?: unknown; output_top_logprobs?: unknown } } | null)?.meta_info;
  if (!meta) throw new ResponseShapeError("response has no meta_info (is this an SGLang server?)");
  const input = meta.input_top_logprobs;
  if (!Array.isArray(input)) throw new ResponseShapeError("meta_info.input_top_logprobs is missing");
  if (input.length !== n) throw new ResponseShapeError(`input_top_logprobs has ${input.length} positions, expected ${n} (one per prompt token)`);
  if (n > 0 && input[0] !== null && !(Array.isArray(input[0]) && input[0].length === 0)) throw new ResponseShapeError("input_top_logprobs[0] should be null");
  const output = meta.output_top_logprobs;
  if (!Array.isArray(output) || !Array.isArray(output[0])) throw new ResponseShapeError("meta_info.output_top_logprobs[0] is missing (the row after the prompt)");
  const b = new RowsBuilder(n, vocabSize, k, actualToken);
  for (let j = 1; j < n; j++) addTriples(b, input[j], `input_top_logprobs[${j}]`);
  addTriples(b, output[0], "output_top_logprobs[0]");
  return b.finish();
}

interface Endpoint {
  url: string;
  headers: Record<string, string>;
}

export class SglangSource implements ServedLogitSource {
  readonly identity: ModelIdentity;
  readonly vocabSize: number;
  readonly logitSpace = "logprobs" as const;
  maxModelLen: number;
  private readonly pool: EndpointPool<Endpoint>;
  private readonly policy: RetryPolicy;
  private readonly where: string;

  constructor(
    private readonly spec: SglangModelSpec,
    private readonly deps: SourceDeps,
  ) {
    this.where = `${deps.section ?? "models"}.${deps.role} (SGLang ${spec.model})`;
    this.vocabSize = deps.vocabSize;
    // One token is generated after the prompt, so a prompt may hold one token less than the context.
    this.maxModelLen = spec.maxModelLen === undefined ? Infinity : spec.maxModelLen - 1;
    this.identity = Object.freeze({ provider: "sglang", model: spec.model, revision: spec.revision, actualToken: spec.actualToken });
    this.policy = retryPolicy(spec);
    const apiKey = apiKeyFrom(spec, this.where);
    const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
    this.pool = new EndpointPool<Endpoint>(spec.urls.map((url) => ({ url: url.replace(/\/+$/, ""), headers })), spec.concurrency);
  }

  get capacity(): number {
    return this.pool.capacity;
  }

  cacheStats() {
    return { hits: this.deps.cache?.hits ?? 0, corrupt: this.deps.cache?.corrupt ?? 0 };
  }

  /** One request, retried as a whole: `read` runs inside the attempt, so a body of the wrong shape is
   * retried like a dropped connection. */
  private call<T = unknown>(path: string, body: unknown, ep?: Endpoint, read: (json: unknown) => T = (j) => j as T): Promise<T> {
    const attempt = (e: Endpoint) => timed(this.policy.timeoutMs, async (signal) => read(await fetchJson(`${e.url}${path}`, { body, headers: e.headers, signal })));
    return withRetry(() => (ep ? attempt(ep) : this.pool.run(attempt)), this.policy, {
      onRetry: ({ attempt: a, delayMs, error }) => this.deps.warn?.(`${this.where}: attempt ${a} failed (${String((error as Error).message).slice(0, 160)}); retrying in ${Math.round(delayMs)} ms`),
    });
  }

  async preflight({ topK, samples }: PreflightInput): Promise<void> {
    checkLogprobsLimit(this.where, topK, this.spec.maxLogprobs, "maxLogprobs");
    for (const ep of this.pool.endpoints) {
      const info = await withRetry(() => timed(this.policy.timeoutMs, (signal) => fetchJson(`${ep.url}/get_server_info`, { headers: ep.headers, signal })), this.policy).catch((e: unknown) => {
        throw new UserError(`${this.where}: cannot reach ${ep.url}/get_server_info (${(e as Error).message})`, "start the server, or fix urls: for this model");
      });
      const ctx = (info as { context_length?: unknown } | null)?.context_length;
      if (this.spec.maxModelLen === undefined && typeof ctx === "number" && ctx > 0) this.maxModelLen = Math.min(this.maxModelLen, ctx - 1);
      for (const sample of samples) {
        const res = await this.call("/generate", { text: sample.text, sampling_params: { max_new_tokens: 1, temperature: 0 }, return_logprob: true, logprob_start_len: 0 }, ep);
        const parsed = z.object({ meta_info: z.object({ input_token_logprobs: z.array(z.tuple([z.number().nullable(), z.number().int()]).rest(z.unknown())) }).loose() }).loose().safeParse(res);
        if (!parsed.success) throw new UserError(`${this.where}: ${ep.url}/generate did not return input_token_logprobs`, "use an SGLang server (the tokenizer check reads the ids it returns)");
        compareTokenization(`${this.where} at ${ep.url}`, sample, parsed.data.meta_info.input_token_logprobs.map((t) => t[1]));
      }
    }
  }

  async tokenLogprobs(tokens: readonly number[]): Promise<number[]> {
    const key = { v: 1, kind: "token-logprobs", identity: this.identity, tokens };
    const read = (json: unknown) => {
      const list = (json as { meta_info?: { input_token_logprobs?: unknown } } | null)?.meta_info?.input_token_logprobs;
      if (!Array.isArray(list) || list.length !== tokens.length) throw new ResponseShapeError(`meta_info.input_token_logprobs should list ${tokens.length} positions`);
      return list.slice(1).map((t: unknown, i) => {
        const [lp, id] = Array.isArray(t) ? t : [];
        if (id !== tokens[i + 1] || !(lp === null || typeof lp === "number")) throw new ResponseShapeError(`input_token_logprobs[${i + 1}] is not [logprob, ${tokens[i + 1]}, ...]`);
        // SGLang reports -inf as null.
        return lp === null ? -Infinity : (lp as number);
      });
    };
    const body = { input_ids: [...tokens], sampling_params: { max_new_tokens: 1, temperature: 0 }, return_logprob: true, logprob_start_len: 0, top_logprobs_num: 0 };
    return answeredLogprobs(this.deps.answers, key, () => this.call("/generate", body, undefined, read));
  }

  async complete(tokens: readonly number[], maxTokens: number): Promise<string> {
    const key = { v: 1, kind: "complete", identity: this.identity, tokens, maxTokens };
    const body = { input_ids: [...tokens], sampling_params: { max_new_tokens: maxTokens, temperature: 0 } };
    const read = (json: unknown) => {
      const text = (json as { text?: unknown } | null)?.text;
      if (typeof text !== "string") throw new ResponseShapeError("the /generate answer has no text");
      return text;
    };
    return answered(this.deps.answers, key, () => this.call("/generate", body, undefined, read), (v) => z.string().parse(v));
  }

  async rows(tokens: readonly number[], request: RowRequest): Promise<Rows> {
    const k = request.topK;
    const key = { v: 1, identity: this.identity, tokens, k };
    const num = k === "full" ? this.vocabSize : k;
    return cached(this.deps.cache, key, async () => {
      try {
        const body = { input_ids: [...tokens], sampling_params: { max_new_tokens: 1, temperature: 0 }, return_logprob: true, logprob_start_len: 0, top_logprobs_num: num };
        return await this.call("/generate", body, undefined, (json) => parseSglangGenerate(json, tokens, k, this.vocabSize, this.spec.actualToken));
      } catch (err) {
        if (err instanceof HttpStatusError && err.status === 400) throw new UserError(`${this.where}: the server refused the request: ${err.body.slice(0, 300)}`, "check blockSize against the server's --context-length and logits.topK");
        throw err;
      }
    });
  }
}
