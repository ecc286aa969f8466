/**
 * A chat endpoint's 400 that refuses one of the request's parameters, turned into a user error that
 * names the config switch to change. The shapes are OpenAI's (read from the status error's body: both
 * providers speak the OpenAI protocol through the transport), e.g. for a reasoning model asked with max_tokens:
 *   {"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use
 *   'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens",
 *   "code":"unsupported_parameter"}}
 * and for a temperature other than 1: param "temperature", code "unsupported_value".
 */
import { UserError } from "../core/errors.js";
import { TransportError } from "../models/transport-error.js";
import { type LlmConfig, maxTokensField } from "./config.js";

interface Refusal {
  status: number;
  param: string;
  code: string;
  message: string;
}

/** status/param/code/message from a status error's JSON body (nested `{"error":{...}}`, or the flat
 * `{"object":"error","message":...}` of vLLM before 0.10.1), or its raw text. */
function refusalOf(err: unknown): Refusal | undefined {
  if (!(err instanceof TransportError) || err.kind !== "status" || err.status === undefined) return undefined;
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const text = err.body ?? "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { status: err.status, param: "", code: "", message: text };
  }
  const p = parsed as { error?: unknown; message?: unknown; param?: unknown; code?: unknown } | null;
  const e = (p && typeof p.error === "object" && p.error !== null ? p.error : p) as { message?: unknown; param?: unknown; code?: unknown } | null;
  return { status: err.status, param: str(e?.param), code: str(e?.code), message: str(e?.message) || text };
}

const UNSUPPORTED = /unsupported|not supported|unrecognized|unknown (field|parameter|argument)|extra (fields|inputs)|not permitted/i;

/** Did the server refuse `name` itself (not its value being too large, say)? */
function refuses(r: Refusal, name: string): boolean {
  const mentioned = r.param === name || new RegExp(`\\b${name}\\b`).test(r.message);
  return mentioned && (r.code === "unsupported_parameter" || r.code === "unsupported_value" || UNSUPPORTED.test(r.message));
}

export function refusedParameter(err: unknown, cfg: LlmConfig): UserError | undefined {
  const r = refusalOf(err);
  if (!r || (r.status !== 400 && r.status !== 422)) return undefined;
  const model = cfg.model ? `model "${cfg.model}"` : "the endpoint's model";
  const said = `HTTP ${r.status}: ${r.message.slice(0, 300)}`;
  const sent = maxTokensField(cfg);
  if (refuses(r, sent)) {
    const other = sent === "max_tokens" ? "max_completion_tokens" : "max_tokens";
    return new UserError(
      `the chat endpoint refused the parameter ${sent} for ${model} (${said})`,
      `set llm.maxTokensField: ${other} (now "${cfg.maxTokensField}"; OpenAI's reasoning models such as o1, o3, o4-mini and gpt-5 need max_completion_tokens, servers on the older protocol need max_tokens)`,
    );
  }
  if (refuses(r, "temperature")) {
    return new UserError(
      `the chat endpoint refused temperature ${cfg.temperature} for ${model} (${said})`,
      "set llm.temperature: 1 (OpenAI's reasoning models accept only their default; their answers are then sampled, not greedy)",
    );
  }
  return undefined;
}
