/**
 * vLLM as a logit source: its OpenAI-compatible /v1/completions with vLLM's extra request fields, sent
 * through the one transport (transport.ts; bodies built and read here). One request per sequence:
 *   prompt: the block's token ids plus one extra id (promptFor), max_tokens: 1 (the smallest vLLM
 *   accepts), temperature: 0,
 *   prompt_logprobs: k  -> per prompt position j >= 1, a dict {token id: {logprob, rank, decoded_token}}
 *                          that predicted token j (top k plus the actual token j; position 0 is null).
 * Every row comes from the prompt path, the last one from the extra token's position: nothing is read
 * from the generated token, whose top list vLLM builds from `logprobs` (it came back `[{}]` for -1)
 * and from the sampler, which follows --logprobs-mode while the prompt path (V1) is a log-softmax.
 * Values of -9999.0 stand for -inf. See server-rows.ts for the position convention.
 */
import { z } from "zod";
import { UserError } from "../core/errors.js";
import type { LogitSpace, ModelIdentity, RowRequest, Rows, TopKRows } from "../core/rows.js";
import { answered, answeredLogprobs, type AnswerCache } from "./answer-cache.js";
import { cached, type RowsCache } from "./cache.js";
import { EndpointPool, warnRetries, withRetry, type RetryPolicy } from "./http-retry.js";
import { checkLogprobsLimit, compareTokenization, probeReplicas, type PreflightInput, type ServedLogitSource } from "./preflight.js";
import { ACTUAL_TOKEN_MODES, RowsBuilder, type ActualTokenMode } from "./server-rows.js";
import { transportFor, type Transport } from "./transport.js";
import { parseJsonBody, ResponseShapeError, serverErrorMessage, TransportError } from "./transport-error.js";
import { VllmBodyStream } from "./vllm-stream.js";
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
    /** The server's --logprobs-mode. Recorded; the rows' space is detected by the probe (vLLM V1's
     * prompt path is a log-softmax whatever the mode; Model Runner V2 honours it), this is only the
     * guess used when no probe runs. */
    logprobsMode: z.enum(VLLM_LOGPROBS_MODES).default("raw_logprobs"),
    /** Memory for full-row (`logits.topK: full`) responses in flight, in MB: each is ~40 bytes of JSON
     * per vocabulary entry per position, so this, not `concurrency`, bounds how many run at once. */
    fullRowsMemoryMB: z.number().int().min(1).default(4096),
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

/** The prompt vLLM is sent for a block: the block plus one extra token, so that prompt_logprobs has a
 * position after the block's last token (its row is the block's last row). Any id works (the row that
 * predicts it does not depend on it); the block's first token keeps the prompt inside the vocabulary. */
export function promptFor(tokens: readonly number[]): number[] {
  return [...tokens, tokens[0] ?? 0];
}

/** Reads one /v1/completions response body (the prompt was promptFor(tokens)) into rows for the n
 * tokens of the block: row i = prompt_logprobs[i + 1], for i = 0 .. n - 1, all from the prompt path.
 * Nothing is read from the generated token. Pure. */
export function parseVllmCompletion(body: unknown, tokens: readonly number[], k: number | "full", vocabSize: number, actualToken: ActualTokenMode): TopKRows {
  const n = tokens.length;
  const choice = (body as { choices?: unknown[] } | null)?.choices?.[0] as { prompt_logprobs?: unknown } | undefined;
  if (!choice) throw new ResponseShapeError("response has no choices[0]");
  const prompt = choice.prompt_logprobs;
  if (!Array.isArray(prompt)) throw new ResponseShapeError("choices[0].prompt_logprobs is missing (is this a vLLM server?)");
  if (prompt.length !== n + 1) throw new ResponseShapeError(`prompt_logprobs has ${prompt.length} positions, expected ${n + 1} (the block's ${n} tokens and the extra one)`);
  if (prompt[0] !== null) throw new ResponseShapeError("prompt_logprobs[0] should be null (nothing predicts the first token)");
  const b = new RowsBuilder(n, vocabSize, k, actualToken);
  for (let j = 1; j <= n; j++) {
    const dict = prompt[j];
    if (!dict || typeof dict !== "object") throw new ResponseShapeError(`prompt_logprobs[${j}] is not an object`);
    for (const key in dict as Record<string, { logprob?: unknown }>) {
      const entry = (dict as Record<string, { logprob?: unknown }>)[key];
      b.add(Number(key), entry?.logprob as number);
    }
    b.endRow(j === n);
  }
  return b.finish();
}

/** Longest body decoded to a string for JSON.parse (V8's strings hold at most 2^29 - 24 UTF-16 units). */
const MAX_TEXT_BYTES = 2 ** 29 - 24;

/** Reads a response body: the byte scanner when it can vouch for its result, else (the scanner bailed:
 * a shape it does not handle) the body decoded as fetch's Response.text() does (TextDecoder: BOM
 * dropped, bad UTF-8 replaced) + JSON.parse + parseVllmCompletion, which reports every malformed body
 * (ResponseShapeError: retried). A body the scanner finds malformed is its error, not a fallback. */
export function readVllmCompletion(body: Uint8Array | string, tokens: readonly number[], k: number | "full", vocabSize: number, actualToken: ActualTokenMode, maxTextBytes = MAX_TEXT_BYTES): TopKRows {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const fast = scanVllmCompletion(bytes, tokens, k, vocabSize, actualToken);
  if (fast) return fast;
  // A full-row body can exceed the longest string V8 makes (~2^29 characters): JSON.parse cannot
  // judge it, so it is reported as a malformed response (retried) rather than as a RangeError.
  if (bytes.length > maxTextBytes) throw new ResponseShapeError(`a ${(bytes.length / 1e6).toFixed(0)} MB response the byte scanner could not read (truncated or not vLLM's shape), too long to parse as text`);
  return parseVllmCompletion(parseJsonBody(body, "/v1/completions"), tokens, k, vocabSize, actualToken);
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

/** Turns a vLLM 400 into an error that says which flag or setting to change. The server's message is
 * read from either error shape (serverErrorMessage: nested since 0.10.1, flat before). */
function explainBadRequest(err: unknown, where: string, spec: VllmModelSpec): unknown {
  if (!(err instanceof TransportError) || err.status !== 400) return err;
  const msg = serverErrorMessage(err.body ?? "");
  if (/logprobs/i.test(msg) && /max/i.test(msg)) {
    return new UserError(`${where}: the server refused the request: ${msg}`, "raise the server's limit with --max-logprobs <k> (and set maxLogprobs to match), or lower logits.topK");
  }
  if (/context length|max_model_len|maximum/i.test(msg)) {
    return new UserError(`${where}: the server refused a sequence as too long: ${msg}`, `lower blockSize, or serve with a larger --max-model-len (and set maxModelLen for this model)`);
  }
  if (/model/i.test(msg) && /not exist|not found/i.test(msg)) {
    return new UserError(`${where}: ${msg}`, `set model: to a name the server lists at /v1/models (vLLM's --served-model-name)`);
  }
  void spec;
  return err;
}

/** Bounds the bytes of responses in flight: a request waits until its estimate fits (one always runs). */
export class MemoryBudget {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(readonly bytes: number) {}
  async run<T>(cost: number, fn: () => Promise<T>): Promise<T> {
    while (this.used > 0 && this.used + cost > this.bytes) await new Promise<void>((r) => this.waiting.push(r));
    this.used += cost;
    try {
      return await fn();
    } finally {
      this.used -= cost;
      for (const wake of this.waiting.splice(0)) wake();
    }
  }
}

/** Memory of a full-row request for a block of n tokens. The body (vLLM writes each vocabulary entry
 * as "id":{"logprob":-12.345678,"rank":12345,"decoded_token":"..."}, ~70 bytes) is read while it
 * arrives (vllm-stream.ts), so what is held is the rows: 8 bytes per entry, copied once when they are
 * finished and once more into the cache entry, plus one row of JSON at a time. */
export const fullRowsBytes = (n: number, vocabSize: number) => (n + 1) * vocabSize * 24;

interface Endpoint {
  url: string;
  transport: Transport;
  headers: Record<string, string>;
}

export class VllmSource implements ServedLogitSource {
  readonly identity: ModelIdentity;
  readonly vocabSize: number;
  /** The configured guess until the probe detects it from the server's rows. */
  logitSpace: LogitSpace;
  maxModelLen: number;
  private readonly pool: EndpointPool<Endpoint>;
  private readonly fullBudget: MemoryBudget;
  private readonly policy: RetryPolicy;
  private readonly where: string;

  constructor(
    private readonly spec: VllmModelSpec,
    private readonly deps: SourceDeps,
  ) {
    this.where = `${deps.section ?? "models"}.${deps.role} (vLLM ${spec.model})`;
    this.vocabSize = deps.vocabSize;
    this.logitSpace = spec.logprobsMode.endsWith("logits") ? "logits" : "logprobs";
    // The prompt is the block plus one extra token, and one token is generated: a block may hold two
    // tokens less than the context.
    this.maxModelLen = spec.maxModelLen === undefined ? Infinity : spec.maxModelLen - 2;
    this.identity = Object.freeze({ provider: "vllm", model: spec.model, revision: spec.revision, logprobsMode: spec.logprobsMode, actualToken: spec.actualToken });
    this.fullBudget = new MemoryBudget(spec.fullRowsMemoryMB * 1024 * 1024);
    this.policy = retryPolicy(spec);
    const apiKey = apiKeyFrom(spec, this.where);
    const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
    // One pool per server origin, shared with any other source reaching the same server (transportFor):
    // its connections are the one concurrency limit.
    this.pool = new EndpointPool<Endpoint>(spec.urls.map((url) => ({ url: url.replace(/\/+$/, ""), transport: transportFor(url, spec.concurrency, this.where, deps.warn), headers })));
  }

  get capacity(): number {
    return this.pool.capacity;
  }

  cacheStats() {
    return { hits: this.deps.cache?.hits ?? 0, corrupt: this.deps.cache?.corrupt ?? 0 };
  }

  /** One request to `ep`: a 2xx body (or a TransportError); `json` makes it a POST. */
  private send(ep: Endpoint, path: string, json?: unknown) {
    return ep.transport.request({ path, json, headers: ep.headers, timeoutMs: this.policy.timeoutMs });
  }

  private retry<T>(fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    return withRetry(() => this.pool.run(fn), this.policy, warnRetries(this.where, this.deps.warn));
  }

  async preflight({ topK, samples }: PreflightInput): Promise<void> {
    checkLogprobsLimit(this.where, topK, this.spec.maxLogprobs, "--max-logprobs");
    // Every replica is checked: one wrongly configured replica would silently poison a share of the labels.
    for (const ep of this.pool.endpoints) {
      const models = await withRetry(async () => parseJsonBody((await this.send(ep, "/v1/models")).body, "/v1/models"), this.policy).catch((e: unknown) => {
        throw new UserError(`${this.where}: cannot reach ${ep.url}/v1/models (${(e as Error).message})`, "start the server, or fix urls: for this model");
      });
      const listed = z.object({ data: z.array(z.object({ id: z.string(), max_model_len: z.number().int().optional() }).loose()) }).safeParse(models);
      if (!listed.success) throw new UserError(`${this.where}: ${ep.url}/v1/models did not answer in the OpenAI format`, "point urls: at a vLLM server's root (no /v1)");
      const entry = listed.data.data.find((m) => m.id === this.spec.model);
      if (!entry) throw new UserError(`${this.where}: ${ep.url} does not serve "${this.spec.model}" (it serves: ${listed.data.data.map((m) => m.id).join(", ")})`, "set model: to one of the served names");
      if (this.spec.maxModelLen === undefined && entry.max_model_len) this.maxModelLen = Math.min(this.maxModelLen, entry.max_model_len - 2);
      for (const sample of samples) {
        const res = await withRetry(async () => parseJsonBody((await this.send(ep, "/tokenize", { model: this.spec.model, prompt: sample.text, add_special_tokens: true })).body, "/tokenize"), this.policy);
        const parsed = z.object({ tokens: z.array(z.number().int()), max_model_len: z.number().int().optional() }).loose().safeParse(res);
        if (!parsed.success) throw new UserError(`${this.where}: ${ep.url}/tokenize answered without a token list`, "use a vLLM server (its /tokenize endpoint is needed for the tokenizer check)");
        compareTokenization(`${this.where} at ${ep.url}`, sample, parsed.data.tokens);
        if (this.spec.maxModelLen === undefined && parsed.data.max_model_len) this.maxModelLen = Math.min(this.maxModelLen, parsed.data.max_model_len - 2);
      }
    }
  }

  async tokenLogprobs(tokens: readonly number[]): Promise<number[]> {
    // Raw logits are not log-probabilities: perplexity and familiarity need the normalised values.
    if (this.logitSpace === "logits") throw new UserError(`${this.where}: logprobsMode ${this.spec.logprobsMode} reports logits, the evaluation needs log-probabilities`, "evaluate against a server started with --logprobs-mode raw_logprobs (vLLM's default)");
    const key = { v: 1, kind: "token-logprobs", identity: this.identity, tokens };
    return answeredLogprobs(this.deps.answers, key, async () => {
      try {
        return await this.retry(async (ep) => {
          // prompt_logprobs lists the prompt's own token at every position besides the top 1.
          const res = await this.send(ep, "/v1/completions", { model: this.spec.model, prompt: [...tokens], max_tokens: 1, temperature: 0, prompt_logprobs: 1 });
          return parsePromptTokenLogprobs(parseJsonBody(res.body, "/v1/completions"), tokens);
        });
      } catch (err) {
        throw await this.explain(err);
      }
    });
  }

  async complete(tokens: readonly number[], maxTokens: number): Promise<string> {
    const key = { v: 1, kind: "complete", identity: this.identity, tokens, maxTokens };
    return answered(this.deps.answers, key, async () => {
      try {
        return await this.retry(async (ep) => {
          const res = await this.send(ep, "/v1/completions", { model: this.spec.model, prompt: [...tokens], max_tokens: maxTokens, temperature: 0 });
          const text = (parseJsonBody(res.body, "/v1/completions") as { choices?: { text?: unknown }[] } | null)?.choices?.[0]?.text;
          if (typeof text !== "string") throw new ResponseShapeError("choices[0].text is missing");
          return text;
        });
      } catch (err) {
        throw await this.explain(err);
      }
    }, (v) => z.string().parse(v));
  }

  /** Space detection and the prefix-caching check, on every replica (see ServedLogitSource.probe). */
  async probe(probe: readonly number[], topK: number | "full"): Promise<void> {
    const found = await probeReplicas(this.where, this.pool.endpoints, (tokens, ep) => this.fetchRows(tokens, topK, ep), probe, this.vocabSize, this.deps.warn);
    const expected: LogitSpace = this.spec.logprobsMode.endsWith("logits") ? "logits" : "logprobs";
    for (const f of found) {
      if (f.space === expected) continue;
      const why =
        f.space === "logprobs"
          ? `vLLM V1 computes prompt log-probs as a log-softmax whatever --logprobs-mode says${f.proved ? "; full rows log-sum-exp to 0" : "; top-k rows never sum above 1, which is consistent with log-probs but does not prove it"}`
          : `their values sum above 1 (log-sum-exp ${f.maxLse.toFixed(3)})`;
      this.deps.warn?.(`${this.where} at ${f.url}: logprobsMode is ${this.spec.logprobsMode} but the rows are ${f.space} (${why}); using ${f.space}`);
    }
    const spaces = [...new Set(found.map((f) => f.space))];
    if (spaces.length > 1) throw new UserError(`${this.where}: the replicas return rows in different spaces (${found.map((f) => `${f.url}: ${f.space}`).join(", ")})`, "serve every replica with the same vLLM version and --logprobs-mode");
    this.logitSpace = spaces[0];
  }

  /** One uncached rows request (to endpoint `ep`, or the least busy one), retried; refusals explained. */
  private async fetchRows(tokens: readonly number[], k: number | "full", ep?: Endpoint): Promise<TopKRows> {
    // Full rows ask for the local vocabulary's size rather than -1: vLLM up to 0.10.2 refuses -1, and
    // newer ones read -1 as the model's (possibly padded) vocabulary.
    const kk = k === "full" ? this.vocabSize : k;
    const attempt = async (e: Endpoint) => {
      const body = { model: this.spec.model, prompt: promptFor(tokens), max_tokens: 1, temperature: 0, prompt_logprobs: kk };
      if (k === "full") {
        // Full rows are read while they arrive (vllm-stream.ts): the body is never held whole. A push
        // that throws (a body not in vLLM's shape) stops the request with that error.
        const stream = new VllmBodyStream(tokens.length, k, this.vocabSize, this.spec.actualToken);
        await e.transport.request({ path: "/v1/completions", json: body, headers: e.headers, timeoutMs: this.policy.timeoutMs, sink: stream });
        return stream.end();
      }
      // The raw bytes, not text: the scanner reads bytes, and decoding 0.7 MB cost more than scanning it.
      const res = await this.send(e, "/v1/completions", body);
      return readVllmCompletion(res.body, tokens, k, this.vocabSize, this.spec.actualToken);
    };
    const go = () => (ep ? withRetry(() => attempt(ep), this.policy) : this.retry(attempt));
    try {
      return await (k === "full" ? this.fullBudget.run(fullRowsBytes(tokens.length, this.vocabSize), go) : go());
    } catch (err) {
      throw await this.explain(err);
    }
  }

  /** A refusal as an error that says what to change (404: the served models; 400: the flag). */
  private async explain(err: unknown): Promise<unknown> {
    if (err instanceof TransportError && err.status === 404) return this.explainNotFound(err);
    return explainBadRequest(err, this.where, this.spec);
  }

  /** vLLM answers an unknown model name with 404 NotFoundError: name the models the server has. */
  private async explainNotFound(err: TransportError): Promise<unknown> {
    const ep = this.pool.endpoints[0];
    const models = await this.send(ep, "/v1/models").then((r) => parseJsonBody(r.body, "/v1/models"), () => undefined);
    const names = ((models as { data?: { id?: unknown }[] } | undefined)?.data ?? []).map((m) => m.id).filter((x): x is string => typeof x === "string");
    const said = serverErrorMessage(err.body ?? "");
    if (!names.length && !/model/i.test(said)) return err;
    return new UserError(`${this.where}: the server answered 404 (${said})${names.length ? `; it serves: ${names.join(", ")}` : ""}`, "set model: to one of the names the server lists at /v1/models (vLLM's --served-model-name)");
  }

  async rows(tokens: readonly number[], request: RowRequest): Promise<Rows> {
    const k = request.topK;
    // v 2: every row from the prompt path (v 1 took the last one from the sampler).
    const key = { v: 2, identity: this.identity, tokens, k };
    return cached(this.deps.cache, key, () => this.fetchRows(tokens, k));
  }
}
