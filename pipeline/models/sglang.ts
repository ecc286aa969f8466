/**
 * SGLang as a logit source: its native POST /generate with
 *   input_ids, sampling_params {max_new_tokens: 1, temperature: 0},
 *   return_logprob: true, logprob_start_len: 0, top_logprobs_num: k.
 * meta_info.input_top_logprobs[j] (j >= 1) lists [logprob, token id, text] for the top k that predicted
 * token j (entry 0 is null); meta_info.output_top_logprobs[0] is the row after the prompt.
 * meta_info.input_token_logprobs[j] is [logprob, id, text] for the prompt's own token j, except that
 * SGLang reports any id >= vocab_size - 1 as 0 there (it clips padded ids; Llama-2: id 31999): such a
 * position is recognised as a clip, never a tokenizer mismatch.
 * The tokenizer check uses /v1/tokenize (or /tokenize) where the server has it (newer SGLang), else sends the sample as
 * `text` and reads the ids back from input_token_logprobs.
 * -inf: newer SGLang (orjson) writes null; older ones (plain JSON) fail the whole response with a 500,
 * which is reported as such (with the server's version) instead of being retried.
 */
import { z } from "zod";
import { UserError } from "../core/errors.js";
import type { ModelIdentity, RowRequest, Rows, TopKRows } from "../core/rows.js";
import { cached } from "./cache.js";
import { EndpointPool, warnRetries, withRetry, type RetryPolicy } from "./http-retry.js";
import { checkLogprobsLimit, compareTokenization, probeReplicas, type PreflightInput, type ServedLogitSource } from "./preflight.js";
import { RowsBuilder, type ActualTokenMode } from "./server-rows.js";
import { answered, answeredLogprobs } from "./answer-cache.js";
import { transportFor, type Transport } from "./transport.js";
import { parseJsonBody, ResponseShapeError, serverErrorMessage, TransportError } from "./transport-error.js";
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

/** Top entries asked for when a prompt token's own log-prob may be clipped (see isClipped). */
const CLIP_TOP_K = 20;

/** SGLang reports a prompt id >= vocab_size - 1 as 0 in input_token_logprobs (it clips padded ids).
 * The server's vocab_size may exceed the tokenizer's, so any local id but 0 reported as 0 is taken
 * as clipped: a real mismatch still shows at the other positions. */
export function isClipped(reported: unknown, local: number | undefined, _vocabSize: number): boolean {
  return reported === 0 && local !== undefined && local !== 0;
}

/** The longest block SGLang accepts, from its server info: a default launch reports
 * context_length null (the model's config decides) and the scheduler's max_req_input_len, which
 * http_server.py merges into the body's top level (read under scheduler_info or internal_states[0]
 * too, for proxies that nest it). One token is generated, and an
 * input must stay under both limits; undefined when the server reports neither. */
export function sglangInputLimit(info: unknown): number | undefined {
  const i = (info ?? {}) as { context_length?: unknown; max_req_input_len?: unknown; scheduler_info?: { max_req_input_len?: unknown }; internal_states?: { max_req_input_len?: unknown }[] };
  const limits: number[] = [];
  // tokenizer_manager refuses input + max_new_tokens >= context_len; the scheduler truncates inputs
  // of max_req_input_len tokens or more (a warning in its log, a shorter answer here).
  if (typeof i.context_length === "number" && i.context_length > 0) limits.push(i.context_length - 2);
  for (const v of [i.max_req_input_len, i.scheduler_info?.max_req_input_len, i.internal_states?.[0]?.max_req_input_len]) if (typeof v === "number" && v > 0) limits.push(v - 1);
  return limits.length ? Math.min(...limits) : undefined;
}

function addTriples(b: RowsBuilder, list: unknown, where: string, actual?: { id: number; value: number }): void {
  if (!Array.isArray(list)) throw new ResponseShapeError(`${where} is not a list`);
  let listed = false;
  for (const t of list as Triple[]) {
    if (!Array.isArray(t) || t.length < 2) throw new ResponseShapeError(`${where}: expected [logprob, token_id, text] entries`);
    b.add(t[1], t[0] === null ? -Infinity : t[0]);
    if (actual && t[1] === actual.id) listed = true;
  }
  if (actual && !listed) b.add(actual.id, actual.value);
  b.endRow();
}

/** Reads one /generate response body into rows for a prompt of n tokens. Pure.
 * actualToken "keep": row j also gets the prompt's own next token from input_token_logprobs[j + 1]
 * when the top list lacks it (as vLLM lists it). Where SGLang clipped that id to 0 (isClipped), the
 * reported value is not the token's: nothing is added, the row stays the top k, and the combination
 * bounds the token by the row's floor (sound; a label that needs the exact value is then left
 * uncertified, as for any top-k row). */
export function parseSglangGenerate(body: unknown, tokens: readonly number[], k: number | "full", vocabSize: number, actualToken: ActualTokenMode): TopKRows {
  const n = tokens.length;
  const meta = (body as { meta_info?: { input_top_logprobs?: unknown; output_top_logprobs?: unknown; input_token_logprobs?: unknown } } | null)?.meta_info;
  if (!meta) throw new ResponseShapeError("response has no meta_info (is this an SGLang server?)");
  const input = meta.input_top_logprobs;
  if (!Array.isArray(input)) throw new ResponseShapeError("meta_info.input_top_logprobs is missing");
  if (input.length !== n) throw new ResponseShapeError(`input_top_logprobs has ${input.length} positions, expected ${n} (one per prompt token)`);
  if (n > 0 && input[0] !== null && !(Array.isArray(input[0]) && input[0].length === 0)) throw new ResponseShapeError("input_top_logprobs[0] should be null");
  const output = meta.output_top_logprobs;
  if (!Array.isArray(output) || !Array.isArray(output[0])) throw new ResponseShapeError("meta_info.output_top_logprobs[0] is missing (the row after the prompt)");
  const own = meta.input_token_logprobs;
  if (actualToken === "keep" && !(Array.isArray(own) && own.length === n)) throw new ResponseShapeError(`meta_info.input_token_logprobs should list ${n} positions`);
  const b = new RowsBuilder(n, vocabSize, k, actualToken);
  for (let j = 1; j < n; j++) {
    let actual: { id: number; value: number } | undefined;
    if (actualToken === "keep") {
      const [lp, id] = Array.isArray((own as unknown[])[j]) ? ((own as unknown[])[j] as Triple) : [];
      if (id === tokens[j] && (lp === null || typeof lp === "number")) actual = { id: tokens[j], value: lp === null ? -Infinity : lp };
      else if (!isClipped(id, tokens[j], vocabSize)) throw new ResponseShapeError(`input_token_logprobs[${j}] is not [logprob, ${tokens[j]}, ...]`);
    }
    addTriples(b, input[j], `input_top_logprobs[${j}]`, actual);
  }
  addTriples(b, output[0], "output_top_logprobs[0]");
  return b.finish();
}

interface Endpoint {
  url: string;
  transport: Transport;
  headers: Record<string, string>;
}

const isStatus = (e: unknown, ...statuses: number[]): e is TransportError => e instanceof TransportError && e.kind === "status" && statuses.includes(e.status ?? 0);

export class SglangSource implements ServedLogitSource {
  readonly identity: ModelIdentity;
  readonly vocabSize: number;
  readonly logitSpace = "logprobs" as const;
  maxModelLen: number;
  /** The server's version, from its server info (for error messages). */
  private version = "unknown";
  private readonly pool: EndpointPool<Endpoint>;
  private readonly policy: RetryPolicy;
  private readonly where: string;

  constructor(
    private readonly spec: SglangModelSpec,
    private readonly deps: SourceDeps,
  ) {
    this.where = `${deps.section ?? "models"}.${deps.role} (SGLang ${spec.model})`;
    this.vocabSize = deps.vocabSize;
    // One token is generated after the prompt, and SGLang wants input + generated < context.
    this.maxModelLen = spec.maxModelLen === undefined ? Infinity : spec.maxModelLen - 2;
    this.identity = Object.freeze({ provider: "sglang", model: spec.model, revision: spec.revision, actualToken: spec.actualToken });
    this.policy = retryPolicy(spec);
    const apiKey = apiKeyFrom(spec, this.where);
    const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
    // One pool per server origin, shared with any other source reaching the same server (transportFor).
    this.pool = new EndpointPool<Endpoint>(spec.urls.map((url) => ({ url: url.replace(/\/+$/, ""), transport: transportFor(url, spec.concurrency, this.where, deps.warn), headers })));
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
    const attempt = async (e: Endpoint) => read(parseJsonBody((await e.transport.request({ path, json: body, headers: e.headers, timeoutMs: this.policy.timeoutMs })).body, path));
    return withRetry(() => (ep ? attempt(ep) : this.pool.run(attempt)), this.policy, warnRetries(this.where, this.deps.warn));
  }

  async preflight({ topK, samples }: PreflightInput): Promise<void> {
    checkLogprobsLimit(this.where, topK, this.spec.maxLogprobs, "maxLogprobs");
    for (const ep of this.pool.endpoints) {
      const get = (path: string) => withRetry(async () => parseJsonBody((await ep.transport.request({ path, headers: ep.headers, timeoutMs: this.policy.timeoutMs })).body, path), this.policy);
      // Newer SGLang: /server_info (/get_server_info is deprecated there); older: /get_server_info only.
      const info = await get("/server_info")
        .catch((e: unknown) => (isStatus(e, 404) ? get("/get_server_info") : Promise.reject(e)))
        .catch((e: unknown) => {
          throw new UserError(`${this.where}: cannot reach ${ep.url}/get_server_info (${(e as Error).message})`, "start the server, or fix urls: for this model");
        });
      const limit = sglangInputLimit(info);
      if (this.spec.maxModelLen === undefined && limit !== undefined) this.maxModelLen = Math.min(this.maxModelLen, limit);
      const version = (info as { version?: unknown } | null)?.version;
      if (typeof version === "string") this.version = version;
      for (const sample of samples) compareTokenization(`${this.where} at ${ep.url}`, sample, await this.serverIds(ep, sample.text, sample.ids));
    }
  }

  /** The server's ids for `text`: /tokenize when the server has one, else read back from /generate,
   * where ids the server clipped to 0 are taken as the local ids they stand for. */
  private async serverIds(ep: Endpoint, text: string, local: readonly number[]): Promise<number[]> {
    // SGLang's OpenAIServingTokenize (entrypoints/openai/serving_tokenize.py): {prompt,
    // add_special_tokens} -> {tokens, count, max_model_len}, served at /v1/tokenize.
    let tokenized: unknown;
    for (const path of ["/v1/tokenize", "/tokenize"]) {
      tokenized = await this.call(path, { prompt: text, add_special_tokens: true }, ep).catch((e: unknown) => {
        if (isStatus(e, 404, 405)) return undefined;
        throw e;
      });
      if (tokenized !== undefined) break;
    }
    if (tokenized !== undefined) {
      const parsed = z.object({ tokens: z.array(z.number().int()) }).loose().safeParse(tokenized);
      if (!parsed.success) throw new UserError(`${this.where}: ${ep.url}/tokenize answered without a token list`, "use an SGLang server");
      return parsed.data.tokens;
    }
    const res = await this.call("/generate", { text, sampling_params: { max_new_tokens: 1, temperature: 0 }, return_logprob: true, logprob_start_len: 0 }, ep);
    const parsed = z.object({ meta_info: z.object({ input_token_logprobs: z.array(z.tuple([z.number().nullable(), z.number().int()]).rest(z.unknown())) }).loose() }).loose().safeParse(res);
    if (!parsed.success) throw new UserError(`${this.where}: ${ep.url}/generate did not return input_token_logprobs`, "use an SGLang server (the tokenizer check reads the ids it returns)");
    return parsed.data.meta_info.input_token_logprobs.map((t, j) => (isClipped(t[1], local[j], this.vocabSize) ? local[j] : t[1]));
  }

  async tokenLogprobs(tokens: readonly number[]): Promise<number[]> {
    const key = { v: 1, kind: "token-logprobs", identity: this.identity, tokens };
    const read = (json: unknown) => {
      const list = (json as { meta_info?: { input_token_logprobs?: unknown } } | null)?.meta_info?.input_token_logprobs;
      if (!Array.isArray(list) || list.length !== tokens.length) throw new ResponseShapeError(`meta_info.input_token_logprobs should list ${tokens.length} positions`);
      const top = (json as { meta_info?: { input_top_logprobs?: unknown[] } }).meta_info?.input_top_logprobs;
      return list.slice(1).map((t: unknown, i) => {
        const [lp, id] = Array.isArray(t) ? t : [];
        const want = tokens[i + 1];
        if (!(lp === null || typeof lp === "number")) throw new ResponseShapeError(`input_token_logprobs[${i + 1}] is not [logprob, ${want}, ...]`);
        if (id !== want) {
          if (!isClipped(id, want, this.vocabSize)) throw new ResponseShapeError(`input_token_logprobs[${i + 1}] is not [logprob, ${want}, ...]`);
          // SGLang clipped the id (and its log-prob is that of id 0): the top list may hold the token.
          const listed = (Array.isArray(top?.[i + 1]) ? (top![i + 1] as Triple[]) : []).find((e) => Array.isArray(e) && e[1] === want);
          if (!listed) throw new UserError(`${this.where}: SGLang reports prompt id ${want} as 0 (it clips ids >= vocab_size - 1) and the token is not in the position's top ${CLIP_TOP_K}, so its log-prob is unknown`, "score this model through vLLM, or leave out sequences holding that token");
          return listed[0] === null ? -Infinity : listed[0];
        }
        // SGLang reports -inf as null.
        return lp === null ? -Infinity : (lp as number);
      });
    };
    // A top list only when a token may be clipped (ids >= vocabulary - 1), to read its log-prob there.
    const clipRisk = tokens.some((t) => t >= this.vocabSize - 1);
    const body = { input_ids: [...tokens], sampling_params: { max_new_tokens: 1, temperature: 0 }, return_logprob: true, logprob_start_len: 0, top_logprobs_num: clipRisk ? CLIP_TOP_K : 0 };
    return answeredLogprobs(this.deps.answers, key, () => this.call("/generate", body, undefined, read).catch((e: unknown) => Promise.reject(this.explain(e))));
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

  /** The prefix-caching check (SGLang's radix cache serves prompt prefixes too); SGLang's rows are
   * log-softmax values, so a space other than log-probs is an error. */
  async probe(probe: readonly number[], topK: number | "full"): Promise<void> {
    const found = await probeReplicas(this.where, this.pool.endpoints, (tokens, ep) => this.fetchRows(tokens, topK, ep), probe, this.vocabSize, this.deps.warn);
    const odd = found.find((f) => f.space !== "logprobs");
    if (odd) throw new UserError(`${this.where}: ${odd.url} returned rows whose values sum above 1 (log-sum-exp ${odd.maxLse.toFixed(3)}): not log-probabilities`, "check that the server is SGLang and returns log-probs (return_logprob)");
  }

  /** One uncached rows request (to endpoint `ep`, or the least busy one); refusals explained. */
  private async fetchRows(tokens: readonly number[], k: number | "full", ep?: Endpoint): Promise<TopKRows> {
    const num = k === "full" ? this.vocabSize : k;
    try {
      const body = { input_ids: [...tokens], sampling_params: { max_new_tokens: 1, temperature: 0 }, return_logprob: true, logprob_start_len: 0, top_logprobs_num: num };
      return await this.call("/generate", body, ep, (json) => parseSglangGenerate(json, tokens, k, this.vocabSize, this.spec.actualToken));
    } catch (err) {
      throw this.explain(err);
    }
  }

  /** A 400 names what to change; a 500 for a -inf value (old SGLang, plain JSON) names the cause. */
  private explain(err: unknown): unknown {
    if (isStatus(err, 400)) return new UserError(`${this.where}: the server refused the request: ${serverErrorMessage(err.body ?? "").slice(0, 300)}`, "check blockSize against the server's --context-length and logits.topK");
    if (isStatus(err, 500) && /out of range float|not json compliant|^internal server error$/i.test(serverErrorMessage(err.body ?? ""))) {
      return new UserError(
        `${this.where}: the server answered 500 to a log-prob request, every attempt (${serverErrorMessage(err.body ?? "").slice(0, 120)}): SGLang ${this.version} writes plain JSON, which cannot hold a -inf log-prob (a token the model rules out), and fails the whole response`,
        "upgrade SGLang to a release that writes responses with orjson (-inf becomes null, which whp reads as -inf), or serve the model with vLLM",
      );
    }
    return err;
  }

  async rows(tokens: readonly number[], request: RowRequest): Promise<Rows> {
    const k = request.topK;
    // v 2: actualToken "keep" adds the prompt's own tokens (v 1 ignored it).
    const key = { v: 2, identity: this.identity, tokens, k };
    return cached(this.deps.cache, key, () => this.fetchRows(tokens, k));
  }
}
