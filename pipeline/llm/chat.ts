/**
 * Chat models behind one interface, in a closed registry. Both providers speak the OpenAI chat
 * completions protocol, sent through the one transport (models/transport.ts) and retried in ONE place
 * (withRetry from models/http-retry.ts: 429 + Retry-After, 408, 5xx, dropped connections, timeouts,
 * truncated bodies, jittered backoff).
 *
 * Why no SDK (openai-node, @huggingface/inference): both only built this one POST and read its answer,
 * each with its own error classes, retries and fetch; a fetch adapter under them would still leave
 * their errors to translate back into TransportError (a second classifier). Calling the protocol
 * directly is less code and leaves one error type. The openai package's request/response TYPES keep
 * the fields honest.
 */
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { UserError } from "../core/errors.js";
import { withRetry, type RetryHooks, type RetryPolicy } from "../models/http-retry.js";
import { transportFor, type Transport } from "../models/transport.js";
import { parseJsonBody, ResponseShapeError, TransportError } from "../models/transport-error.js";
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

export interface ChatEnv {
  OPENAI_API_KEY?: string;
  HF_TOKEN?: string;
}

/** Hugging Face Inference Providers' OpenAI-compatible router (provider "auto" picks one; a named
 * provider is asked for with a `:<provider>` suffix on the model id). */
export const HF_ROUTER = "https://router.huggingface.co/v1";
export const OPENAI_API = "https://api.openai.com/v1";

const completionShape = (body: unknown): ChatAnswer => {
  const b = body as Partial<ChatCompletion> | null;
  const choice = b?.choices?.[0];
  if (!choice || typeof choice.message?.content !== "string") throw new ResponseShapeError("chat completion without choices[0].message.content");
  return { text: choice.message.content, model: typeof b?.model === "string" ? b.model : "", finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : null };
};

/** maxTokens under the field the config says (llm.maxTokensField): not part of the cached request,
 * since either name asks for the same answer. */
const tokenLimit = (cfg: LlmConfig, req: ChatRequest) => (maxTokensField(cfg) === "max_completion_tokens" ? { max_completion_tokens: req.maxTokens } : { max_tokens: req.maxTokens });

const responseFormat = (req: ChatRequest): ChatCompletionCreateParamsNonStreaming["response_format"] =>
  req.jsonSchema ? { type: "json_schema", json_schema: { name: req.jsonSchema.name, schema: req.jsonSchema.schema, strict: true } } : undefined;

/** Where a provider's requests go: the chat completions URL, its key, and the model field. */
interface Route {
  url: string;
  key: string | undefined;
  /** The `model` field sent, or undefined to send none. */
  model: (req: ChatRequest) => string | undefined;
}

function openaiRoute(cfg: LlmConfig, env: ChatEnv): Route {
  const key = env.OPENAI_API_KEY;
  // Local servers (vLLM, Ollama...) accept any key; only the default OpenAI URL really needs one.
  if (!key && !cfg.baseUrl) throw new UserError("llm.provider openai needs OPENAI_API_KEY in the environment", "export OPENAI_API_KEY=..., or set llm.baseUrl to a local OpenAI-compatible server");
  return { url: `${(cfg.baseUrl ?? OPENAI_API).replace(/\/+$/, "")}/chat/completions`, key, model: (req) => req.model };
}

/**
 * hf: a dedicated endpoint (baseUrl) gets the URL @huggingface/inference 4.x built for it
 * (HFInferenceConversationalTask.makeUrl: ".../v1" + "/chat/completions", a URL already ending in
 * "/chat/completions" as it is, anything else + "/v1/chat/completions"); without a model it is sent no
 * model field (vLLM answers 404 to a model it does not serve, and serves its own when the field is
 * absent: serving_engine.py _is_model_supported). Without baseUrl: the router, with the Hub model id.
 */
function hfRoute(cfg: LlmConfig, env: ChatEnv): Route {
  const key = env.HF_TOKEN;
  if (!key && !cfg.baseUrl) throw new UserError("llm.provider hf needs HF_TOKEN in the environment", "export HF_TOKEN=hf_... (a token with Inference Providers permission)");
  if (cfg.baseUrl) {
    const base = cfg.baseUrl.trim().replace(/\/+$/, "");
    const url = base.endsWith("/v1") ? `${base}/chat/completions` : base.endsWith("/chat/completions") ? base : `${base}/v1/chat/completions`;
    return { url, key, model: (req) => req.model || undefined };
  }
  const provider = cfg.hfProvider && cfg.hfProvider !== "auto" ? `:${cfg.hfProvider}` : "";
  return { url: `${HF_ROUTER}/chat/completions`, key, model: (req) => `${req.model}${provider}` };
}

const ROUTES: Record<ChatProviderName, (cfg: LlmConfig, env: ChatEnv) => Route> = { openai: openaiRoute, hf: hfRoute };

export function isChatProvider(name: string): name is ChatProviderName {
  return (CHAT_PROVIDERS as readonly string[]).includes(name);
}

/** A chat model with its endpoint's transport and the retry policy: the only way the tool calls an LLM. */
export class ChatClient {
  readonly policy: RetryPolicy;
  private readonly route: Route;
  private readonly transport: Transport;
  private readonly path: string;
  private readonly headers: Record<string, string>;

  constructor(
    readonly cfg: LlmConfig,
    env: ChatEnv,
    private readonly hooks: RetryHooks = {},
  ) {
    if (!isChatProvider(cfg.provider)) throw new UserError(`llm.provider "${cfg.provider}" is not a chat model`, `use one of ${CHAT_PROVIDERS.join(", ")}`);
    this.route = ROUTES[cfg.provider](cfg, env);
    const url = new URL(this.route.url);
    // The endpoint's origin is one server: its pool's connections are llm.concurrency.
    this.transport = transportFor(url.origin, cfg.concurrency, `llm (${cfg.provider} ${cfg.model ?? "endpoint model"})`);
    this.path = url.pathname;
    this.headers = this.route.key ? { authorization: `Bearer ${this.route.key}` } : {};
    this.policy = { attempts: cfg.attempts, baseDelayMs: 500, maxDelayMs: 30_000, timeoutMs: cfg.timeoutMs };
  }

  /** One retry loop around single attempts; each attempt's clock starts once it holds a connection. */
  complete(req: ChatRequest): Promise<ChatAnswer> {
    const model = this.route.model(req);
    const body: ChatCompletionCreateParamsNonStreaming = {
      ...(model === undefined ? {} : { model }),
      messages: req.messages,
      temperature: req.temperature,
      ...tokenLimit(this.cfg, req),
      ...(req.jsonSchema ? { response_format: responseFormat(req) } : {}),
    } as ChatCompletionCreateParamsNonStreaming;
    const attempt = async () => completionShape(parseJsonBody((await this.transport.request({ path: this.path, json: body, headers: this.headers, timeoutMs: this.policy.timeoutMs })).body, "chat completion"));
    return withRetry(attempt, this.policy, this.hooks).catch((e: unknown) => {
      throw authFailure(e, this.cfg) ?? refusedParameter(e, this.cfg) ?? e;
    });
  }
}

/** A refused key (401/403) is the user's to fix, not a crash: exit 2 naming the variable and endpoint. */
function authFailure(err: unknown, cfg: LlmConfig): UserError | undefined {
  const status = err instanceof TransportError ? err.status : undefined;
  if (status !== 401 && status !== 403) return undefined;
  const endpoint = cfg.baseUrl ?? (cfg.provider === "hf" ? "Hugging Face Inference Providers" : OPENAI_API);
  const variable = cfg.provider === "hf" ? "HF_TOKEN" : "OPENAI_API_KEY";
  return new UserError(`the chat endpoint refused the key (HTTP ${status}): check OPENAI_API_KEY / HF_TOKEN for ${endpoint}`, `export ${variable} with a key that ${endpoint} accepts (llm.provider ${cfg.provider})`);
}
