/**
 * Chat models behind one interface, in a closed registry. Transport failures are retried in ONE place
 * (withRetry from models/http-retry.ts: 429 + Retry-After, 408, 5xx, dropped connections, timeouts,
 * truncated bodies, jittered backoff); the client libraries' own retries are switched off.
 */
import { InferenceClient } from "@huggingface/inference";
import OpenAI from "openai";
import { UserError } from "../core/errors.js";
import { EndpointPool, HttpStatusError, ResponseShapeError, parseRetryAfter, timed, withRetry, type RetryHooks, type RetryPolicy } from "../models/http-retry.js";
import { type LlmConfig, maxTokensField } from "./config.js";
import { refusedParameter } from "./refused.js";

export const CHAT_PROVIDERS = ["openai", "hf"] as const;
export type ChatProviderName = (typeof CHAT_PROVIDERS)[number];

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** The canonical request: what is hashed for the cache, so it holds no secret and no endpoint. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature: number;
  maxTokens: number;
  /** A JSON schema for structured output, or undefined for free text. */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
}

export interface ChatAnswer {
  text: string;
  /** The model the server says answered (may differ from the requested name). */
  model: string;
  finishReason: string | null;
}

/** One attempt against one endpoint; retries and limits live in ChatClient. */
type Attempt = (req: ChatRequest, signal: AbortSignal) => Promise<ChatAnswer>;

export interface ChatEnv {
  OPENAI_API_KEY?: string;
  HF_TOKEN?: string;
}

const completionShape = (body: unknown): ChatAnswer => {
  const b = body as { model?: unknown; choices?: { message?: { content?: unknown }; finish_reason?: unknown }[] } | null;
  const choice = b?.choices?.[0];
  if (!choice || typeof choice.message?.content !== "string") throw new ResponseShapeError("chat completion without choices[0].message.content");
  return { text: choice.message.content, model: typeof b?.model === "string" ? b.model : "", finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : null };
};

/** maxTokens under the field the config says (llm.maxTokensField): not part of the cached request,
 * since either name asks for the same answer. */
const tokenLimit = (cfg: LlmConfig, req: ChatRequest) => (maxTokensField(cfg) === "max_completion_tokens" ? { max_completion_tokens: req.maxTokens } : { max_tokens: req.maxTokens });

const responseFormat = (req: ChatRequest) =>
  req.jsonSchema ? { type: "json_schema" as const, json_schema: { name: req.jsonSchema.name, schema: req.jsonSchema.schema, strict: true } } : undefined;

function openaiAttempt(cfg: LlmConfig, env: ChatEnv): Attempt {
  const apiKey = env.OPENAI_API_KEY;
  // Local servers (vLLM, Ollama...) accept any key; only the default OpenAI URL really needs one.
  if (!apiKey && !cfg.baseUrl) throw new UserError("llm.provider openai needs OPENAI_API_KEY in the environment", "export OPENAI_API_KEY=..., or set llm.baseUrl to a local OpenAI-compatible server");
  // why: retries happen in withRetry only, and our own timeout covers the whole body.
  const client = new OpenAI({ apiKey: apiKey ?? "unused", baseURL: cfg.baseUrl, maxRetries: 0, timeout: cfg.timeoutMs });
  return async (req, signal) => {
    const res = await client.chat.completions.create(
      { model: req.model, messages: req.messages, temperature: req.temperature, ...tokenLimit(cfg, req), response_format: responseFormat(req) },
      { signal },
    );
    return completionShape(res);
  };
}

function hfAttempt(cfg: LlmConfig, env: ChatEnv): Attempt {
  const token = env.HF_TOKEN;
  if (!token && !cfg.baseUrl) throw new UserError("llm.provider hf needs HF_TOKEN in the environment", "export HF_TOKEN=hf_... (a token with Inference Providers permission)");
  const client = new InferenceClient(token ?? "");
  // why: the HF client hides response headers in its errors, so Retry-After would be lost; read the
  // status here and throw the error our retry policy understands.
  const fetchWithStatus: typeof fetch = async (input, init) => {
    const res = await fetch(input, cfg.baseUrl && !cfg.model ? withoutModel(init) : init);
    if (!res.ok) {
      const body = await res.text().catch(() => "");
      throw new HttpStatusError(res.status, body, parseRetryAfter(res.headers.get("retry-after")), cfg.baseUrl ? "the hf endpoint" : "Hugging Face Inference Providers");
    }
    return res;
  };
  return async (req, signal) => {
    const args = {
      model: req.model || undefined,
      messages: req.messages,
      temperature: req.temperature,
      ...tokenLimit(cfg, req),
      response_format: responseFormat(req),
      ...(cfg.baseUrl ? { endpointUrl: cfg.baseUrl } : { provider: cfg.hfProvider as "auto" | undefined }),
    };
    // why: retry_on_error false - the client would otherwise re-send every 503 itself, forever.
    const res = await client.chatCompletion(args as Parameters<InferenceClient["chatCompletion"]>[0], { signal, fetch: fetchWithStatus, retry_on_error: false });
    return completionShape(res);
  };
}

/**
 * The request without its `model` field. @huggingface/inference 4.x, given an endpointUrl and no
 * model, writes the URL itself as the model name (lib/makeRequestOptions.js: `maybeModel ??
 * args.endpointUrl`, then HFInferenceConversationalTask.preparePayload sets `model`); vLLM answers
 * 404 to a model it does not serve, and serves its own when the field is absent (serving_engine.py,
 * _is_model_supported: no name -> supported).
 */
function withoutModel(init: RequestInit | undefined): RequestInit | undefined {
  if (typeof init?.body !== "string") return init;
  const { model: _url, ...rest } = JSON.parse(init.body) as Record<string, unknown>;
  return { ...init, body: JSON.stringify(rest) };
}

const ATTEMPTS: Record<ChatProviderName, (cfg: LlmConfig, env: ChatEnv) => Attempt> = { openai: openaiAttempt, hf: hfAttempt };

export function isChatProvider(name: string): name is ChatProviderName {
  return (CHAT_PROVIDERS as readonly string[]).includes(name);
}

/** A chat model with its endpoint limit and the retry policy: the only way the tool calls an LLM. */
export class ChatClient {
  private readonly pool: EndpointPool<Attempt>;
  readonly policy: RetryPolicy;

  constructor(
    readonly cfg: LlmConfig,
    env: ChatEnv,
    private readonly hooks: RetryHooks = {},
  ) {
    if (!isChatProvider(cfg.provider)) throw new UserError(`llm.provider "${cfg.provider}" is not a chat model`, `use one of ${CHAT_PROVIDERS.join(", ")}`);
    this.pool = new EndpointPool([ATTEMPTS[cfg.provider](cfg, env)], cfg.concurrency);
    this.policy = { attempts: cfg.attempts, baseDelayMs: 500, maxDelayMs: 30_000, timeoutMs: cfg.timeoutMs };
  }

  /** One retry loop around single attempts; each attempt takes an endpoint slot and starts its clock. */
  complete(req: ChatRequest): Promise<ChatAnswer> {
    return withRetry(() => this.pool.run((attempt) => timed(this.policy.timeoutMs, (signal) => attempt(req, signal))), this.policy, this.hooks).catch((e: unknown) => {
      throw authFailure(e, this.cfg) ?? refusedParameter(e, this.cfg) ?? e;
    });
  }
}

/** A refused key (401/403) is the user's to fix, not a crash: exit 2 naming the variable and endpoint. */
function authFailure(err: unknown, cfg: LlmConfig): UserError | undefined {
  const e = err as { status?: unknown; httpResponse?: { status?: unknown } } | null;
  const status = typeof e?.status === "number" ? e.status : e?.httpResponse?.status;
  if (status !== 401 && status !== 403) return undefined;
  const endpoint = cfg.baseUrl ?? (cfg.provider === "hf" ? "Hugging Face Inference Providers" : "https://api.openai.com/v1");
  const variable = cfg.provider === "hf" ? "HF_TOKEN" : "OPENAI_API_KEY";
  return new UserError(`the chat endpoint refused the key (HTTP ${status}): check OPENAI_API_KEY / HF_TOKEN for ${endpoint}`, `export ${variable} with a key that ${endpoint} accepts (llm.provider ${cfg.provider})`);
}
