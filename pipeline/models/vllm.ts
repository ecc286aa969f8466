/**
 * vLLM as a logit source: its OpenAI-compatible /v1/completions, called through the `openai` client
 * with vLLM's extra request fields. One request per sequence:
 *   prompt: token ids, max_tokens: 1 (the smallest vLLM accepts), temperature: 0,
 *   prompt_logprobs: k  -> per prompt position j >= 1, a dict {token id: {logprob, rank}} that predicted
 *                          token j (top k plus the actual token j; position 0 is null),
 *   logprobs: k + return_tokens_as_token_ids -> the generated token's top k, keyed "token_id:<id>":
 *                          the row that predicts the token after the sequence, so every row is real.
 * Values of -9999.0 stand for -inf. See server-rows.ts for the position convention.
 */
import OpenAI, { APIError } from "openai";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import type { LogitSpace, ModelIdentity, RowRequest, Rows, TopKRows } from "../core/rows.js";
import { answered, answeredLogprobs, type AnswerCache } from "./answer-cache.js";
import { cached, type RowsCache } from "./cache.js";
import { EndpointPool, ResponseShapeError, fetchJson, timed, withRetry, type RetryPolicy } from "./http-retry.js";
import { checkLogprobsLimit, compareTokenization, type PreflightInput, type ServedLogitSource } from "./preflight.js";
import { ACTUAL_TOKEN_MODES, RowsBuilder, type ActualTokenMode } from "./server-rows.js";
import { nodeFetch } from "./node-fetch.js";
import { scanVllmCompletion } from "./vllm-scan.js";

/** vLLM's --logprobs-mode values; the raw_* ones are before any logits processor or temperature. */
export const VLLM_LOGPROBS_MODES = ["raw_logprobs", "raw_logits", "processed_logprobs", "processed_logits"] as const;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "the NAME of an environment variable holding the key, not the key");

/** Options every served provider shares. */
export const servedOptions = {
  /** Server root URLs, one per replica, e.g. http://gpu1:8000 (no /v1). */
  urls: z.array(z.url()).min(1),
  /** Environment variable holding the API key (the key itself never goes in the config). */
  apiKeyEnv: envName.optional(),
  /** Requests in flight per replica. */
  concurrency: z.number().int().min(1).max(1024).default(16),
  timeoutSeconds: z.number().positive().default(120),
  /** Tries per request, the first included. */
  attempts: z.number().int().min(1).max(20).default(6),
  /** Longest sequence the server accepts; read from the server when it reports it. */
  maxModelLen: z.number().int().positive().optional(),
  /** Bump when the served weights change under the same name: it is part of the cache key. */
  revision: z.string().default(""),
  actualToken: z.enum(ACTUAL_TOKEN_MODES).default("drop"),
};

export const vllmModelSchema = z
  .object({
    provider: z.literal("vllm"),
    /** The served model name (vLLM's --served-model-name, or the model path). */
    model: z.string().min(1),
    ...servedOptions,
    /** The server's --max-logprobs (vLLM's default is 20; -1 = no limit, needed for logits.topK "full"). */
    maxLogprobs: z.number().int().min(-1).default(20),
    /** The server's --logprobs-mode: raw_logits / processed_logits make the values raw logits. */
    logprobsMode: z.enum(VLLM_LOGPROBS_MODES).default("raw_logprobs"),
  })
  .strict();
export type VllmModelSpec = z.output<typeof vllmModelSchema>;

export interface SourceDeps {
  vocabSize: number;
  role: string;
  /** The config section the model is named in (errors say `<section>.<role>`); default "models". */
  section?: string;
  cache?: RowsCache;
  /** Cache of the evaluation's answers (token log-probs, completions). */
  answers?: AnswerCache;
  warn?: (message: string) => void;
}

export function apiKeyFrom(spec: { apiKeyEnv?: string }, where: string): string | undefined {
  if (!spec.apiKeyEnv) return undefined;
  const key = process.env[spec.apiKeyEnv];
  if (!key) throw new UserError(`${where}: environment variable ${spec.apiKeyEnv} (apiKeyEnv) is not set`, `export ${spec.apiKeyEnv}=<key> before running`);
  return key;
}

export function retryPolicy(spec: { attempts: number; timeoutSeconds: number }): RetryPolicy {
  return { attempts: spec.attempts, baseDelayMs: 500, maxDelayMs: 30_000, timeoutMs: spec.timeoutSeconds * 1000 };
}

/** Reads one /v1/completions response body into rows for a prompt of n tokens. Pure. */
export function parseVllmCompletion(body: unknown, tokens: readonly number[], k: number | "full", vocabSize: number, actualToken: ActualTokenMode): TopKRows {
  const n = tokens.length;
  const choice = (body as { choices?: unknown[] } | null)?.choices?.[0] as { prompt_logprobs?: unknown; logprobs?: { top_logprobs?: unknown } | null } | undefined;
  if (!choice) throw new ResponseShapeError("response has no choices[0]");
  const prompt = choice.prompt_logprobs;
  if (!Array.isArray(prompt)) throw new ResponseShapeError("choices[0].prompt_logprobs is missing (is this a vLLM server?)");
  if (prompt.length !== n) throw new ResponseShapeError(`prompt_logprobs has ${prompt.length} positions, expected ${n} (one per prompt token)`);
  if (n > 0 && prompt[0] !== null) throw new ResponseShapeError("prompt_logprobs[0] should be null (nothing predicts the first token)");
  const top = choice.logprobs?.top_logprobs;
  const last = Array.isArray(top) ? top[0] : undefined;
  if (!last || typeof last !== "object") throw new ResponseShapeError("choices[0].logprobs.top_logprobs[0] is missing (the row after the prompt)");
  const b = new RowsBuilder(n, vocabSize, k, actualToken);
  for (let j = 1; j < n; j++) {
    const dict = prompt[j];
    if (!dict || typeof dict !== "object") throw new ResponseShapeError(`prompt_logprobs[${j}] is not an object`);
    for (const key in dict as Record<string, { logprob?: unknown }>) {
      const entry = (dict as Record<string, { logprob?: unknown }>)[key];
      b.add(Number(key), entry?.logprob as number);
    }
    b.endRow();
  }
  for (const key in last as Record<string, unknown>) {
    if (!key.startsWith("token_id:")) throw new ResponseShapeError(`top_logprobs key "${key}" is not "token_id:<id>" (the server ignored return_tokens_as_token_ids)`);
    b.add(Number(key.slice(9)), (last as Record<string, number>)[key]);
  }
  b.endRow();
  return b.finish();
}

/** Reads a response body: the byte scanner when it can vouch for its result, else the body decoded as
 * fetch's Response.text() does (TextDecoder: BOM dropped, bad UTF-8 replaced) + JSON.parse +
 * parseVllmCompletion, which reports every malformed body (SyntaxError / ResponseShapeError: retried). */
export function readVllmCompletion(body: Uint8Array | string, tokens: readonly number[], k: number | "full", vocabSize: number, actualToken: ActualTokenMode): TopKRows {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const fast = scanVllmCompletion(bytes, tokens, k, vocabSize, actualToken);
  if (fast) return fast;
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  return parseVllmCompletion(JSON.parse(text), tokens, k, vocabSize, actualToken);
}

/** Reads the prompt's own tokens' log-probs from a /v1/completions body (prompt_logprobs). Pure. */
export function parsePromptTokenLogprobs(body: unknown, tokens: readonly number[]): number[] {
  const prompt = (body as { choices?: { prompt_logprobs?: unknown }[] } | null)?.choices?.[0]?.prompt_logprobs;
  if (!Array.isArray(prompt) || prompt.length !== tokens.length) throw new ResponseShapeError(`choices[0].prompt_logprobs should list ${tokens.length} positions (is this a vLLM server?)`);
  const out: number[] = [];
  for (let j = 1; j < tokens.length; j++) {
    const entry = (prompt[j] as Record<string, { logprob?: unknown }> | null)?.[String(tokens[j])];
    if (typeof entry?.logprob !== "number") throw new ResponseShapeError(`prompt_logprobs[${j}] does not list the prompt's own token ${tokens[j]}`);
    out.push(entry.logprob <= -9999 ? -Infinity : entry.logprob);
  }
  return out;
}

/** Turns a vLLM 400 into an error that says which flag or setting to change. */
function explainBadRequest(err: unknown, where: string, spec: VllmModelSpec): unknown {
  if (!(err instanceof APIError) || err.status !== 400) return err;
  const msg = `${err.message} ${JSON.stringify(err.error ?? "")}`;
  if (/logprobs/i.test(msg) && /max/i.test(msg)) {
    return new UserError(`${where}: the server refused the request: ${msg}`, "raise the server's limit with --max-logprobs <k> (and set maxLogprobs to match), or lower logits.topK");
  }
  if (/context length|max_model_len|maximum/i.test(msg)) {
    return new UserError(`${where}: the server refused a sequence as too long: ${msg}`, `lower blockSize, or serve with a larger --max-model-len (and set maxModelLen for this model)`);
  }
  if (/model/i.test(msg) && /not exist|not found/i.test(msg)) {
    return new UserError(`${where}: ${msg}`, `set model: to a name the server lists at /v1/models (vLLM's --served-model-name)`);
  }
  return err;
}

interface Endpoint {
  url: string;
  client: OpenAI;
  headers: Record<string, string>;
}

export class VllmSource implements ServedLogitSource {
  readonly identity: ModelIdentity;
  readonly vocabSize: number;
  readonly logitSpace: LogitSpace;
  maxModelLen: number;
  private readonly pool: EndpointPool<Endpoint>;
  private readonly policy: RetryPolicy;
  private readonly where: string;

  constructor(
    private readonly spec: VllmModelSpec,
    private readonly deps: SourceDeps,
  ) {
    this.where = `${deps.section ?? "models"}.${deps.role} (vLLM ${spec.model})`;
    this.vocabSize = deps.vocabSize;
    this.logitSpace = spec.logprobsMode.endsWith("logits") ? "logits" : "logprobs";
    // One token is generated after the prompt, so a prompt may hold one token less than the context.
    this.maxModelLen = spec.maxModelLen === undefined ? Infinity : spec.maxModelLen - 1;
    this.identity = Object.freeze({ provider: "vllm", model: spec.model, revision: spec.revision, logprobsMode: spec.logprobsMode, actualToken: spec.actualToken });
    this.policy = retryPolicy(spec);
    const apiKey = apiKeyFrom(spec, this.where);
    this.pool = new EndpointPool<Endpoint>(
      spec.urls.map((url) => ({
        url: url.replace(/\/+$/, ""),
        // The SDK must not retry on its own: withRetry is the one place that does. Its transport is a
        // node:http fetch with keep-alive (node-fetch.ts): Node's fetch cost more CPU per request.
        client: new OpenAI({ baseURL: `${url.replace(/\/+$/, "")}/v1`, apiKey: apiKey ?? "EMPTY", maxRetries: 0, timeout: this.policy.timeoutMs, fetch: nodeFetch(spec.concurrency) }),
        headers: (apiKey ? { authorization: `Bearer ${apiKey}` } : {}) as Record<string, string>,
      })),
      spec.concurrency,
    );
  }

  get capacity(): number {
    return this.pool.capacity;
  }

  cacheStats() {
    return { hits: this.deps.cache?.hits ?? 0, corrupt: this.deps.cache?.corrupt ?? 0 };
  }

  private retry<T>(fn: (ep: Endpoint, signal: AbortSignal) => Promise<T>): Promise<T> {
    return withRetry(() => this.pool.run((ep) => timed(this.policy.timeoutMs, (signal) => fn(ep, signal))), this.policy, {
      onRetry: ({ attempt, delayMs, error }) => this.deps.warn?.(`${this.where}: attempt ${attempt} failed (${String((error as Error).message).slice(0, 160)}); retrying in ${Math.round(delayMs)} ms`),
    });
  }

  async preflight({ topK, samples }: PreflightInput): Promise<void> {
    checkLogprobsLimit(this.where, topK, this.spec.maxLogprobs, "--max-logprobs");
    // Every replica is checked: one wrongly configured replica would silently poison a share of the labels.
    for (const ep of this.pool.endpoints) {
      const models = await withRetry(() => timed(this.policy.timeoutMs, (signal) => fetchJson(`${ep.url}/v1/models`, { headers: ep.headers, signal })), this.policy).catch((e: unknown) => {
        throw new UserError(`${this.where}: cannot reach ${ep.url}/v1/models (${(e as Error).message})`, "start the server, or fix urls: for this model");
      });
      const listed = z.object({ data: z.array(z.object({ id: z.string(), max_model_len: z.number().int().optional() }).loose()) }).safeParse(models);
      if (!listed.success) throw new UserError(`${this.where}: ${ep.url}/v1/models did not answer in the OpenAI format`, "point urls: at a vLLM server's root (no /v1)");
      const entry = listed.data.data.find((m) => m.id === this.spec.model);
      if (!entry) throw new UserError(`${this.where}: ${ep.url} does not serve "${this.spec.model}" (it serves: ${listed.data.data.map((m) => m.id).join(", ")})`, "set model: to one of the served names");
      if (this.spec.maxModelLen === undefined && entry.max_model_len) this.maxModelLen = Math.min(this.maxModelLen, entry.max_model_len - 1);
      for (const sample of samples) {
        const res = await withRetry(
          () => timed(this.policy.timeoutMs, (signal) => fetchJson(`${ep.url}/tokenize`, { body: { model: this.spec.model, prompt: sample.text, add_special_tokens: true }, headers: ep.headers, signal })),
          this.policy,
        );
        const parsed = z.object({ tokens: z.array(z.number().int()), max_model_len: z.number().int().optional() }).loose().safeParse(res);
        if (!parsed.success) throw new UserError(`${this.where}: ${ep.url}/tokenize answered without a token list`, "use a vLLM server (its /tokenize endpoint is needed for the tokenizer check)");
        compareTokenization(`${this.where} at ${ep.url}`, sample, parsed.data.tokens);
        if (this.spec.maxModelLen === undefined && parsed.data.max_model_len) this.maxModelLen = Math.min(this.maxModelLen, parsed.data.max_model_len - 1);
      }
    }
  }

  async tokenLogprobs(tokens: readonly number[]): Promise<number[]> {
    // Raw logits are not log-probabilities: perplexity and familiarity need the normalised values.
    if (this.logitSpace === "logits") throw new UserError(`${this.where}: logprobsMode ${this.spec.logprobsMode} reports logits, the evaluation needs log-probabilities`, "evaluate against a server started with --logprobs-mode raw_logprobs (vLLM's default)");
    const key = { v: 1, kind: "token-logprobs", identity: this.identity, tokens };
    return answeredLogprobs(this.deps.answers, key, async () => {
      try {
        return await this.retry(async (ep, signal) => {
          // prompt_logprobs lists the prompt's own token at every position besides the top 1.
          const body = { model: this.spec.model, prompt: [...tokens], max_tokens: 1, temperature: 0, prompt_logprobs: 1 };
          const res = await ep.client.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming, { signal }).asResponse();
          return parsePromptTokenLogprobs(JSON.parse(await res.text()), tokens);
        });
      } catch (err) {
        throw explainBadRequest(err, this.where, this.spec);
      }
    });
  }

  async complete(tokens: readonly number[], maxTokens: number): Promise<string> {
    const key = { v: 1, kind: "complete", identity: this.identity, tokens, maxTokens };
    return answered(this.deps.answers, key, async () => {
      try {
        return await this.retry(async (ep, signal) => {
          const body = { model: this.spec.model, prompt: [...tokens], max_tokens: maxTokens, temperature: 0 };
          const res = await ep.client.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming, { signal }).asResponse();
          const text = (JSON.parse(await res.text()) as { choices?: { text?: unknown }[] } | null)?.choices?.[0]?.text;
          if (typeof text !== "string") throw new ResponseShapeError("choices[0].text is missing");
          return text;
        });
      } catch (err) {
        throw explainBadRequest(err, this.where, this.spec);
      }
    }, (v) => z.string().parse(v));
  }

  async rows(tokens: readonly number[], request: RowRequest): Promise<Rows> {
    const k = request.topK;
    // -1 asks vLLM for the whole vocabulary (needs --max-logprobs -1).
    const kk = k === "full" ? -1 : k;
    const key = { v: 1, identity: this.identity, tokens, k };
    return cached(this.deps.cache, key, async () => {
      try {
        return await this.retry(async (ep, signal) => {
          const body = { model: this.spec.model, prompt: [...tokens], max_tokens: 1, temperature: 0, logprobs: kk, prompt_logprobs: kk, return_tokens_as_token_ids: true };
          // asResponse: read the body ourselves, under the same timeout as the headers.
          const res = await ep.client.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming, { signal }).asResponse();
          // The raw bytes, not res.text(): the scanner reads bytes, and decoding 0.7 MB cost more than scanning it.
          return readVllmCompletion(new Uint8Array(await res.arrayBuffer()), tokens, k, this.vocabSize, this.spec.actualToken);
        });
      } catch (err) {
        throw explainBadRequest(err, this.where, this.spec);
      }
    });
  }
}
