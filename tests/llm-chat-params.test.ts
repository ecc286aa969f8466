/**
 * What the chat providers put in the request body for the servers that are picky about it: OpenAI's
 * reasoning models (max_completion_tokens, temperature) and vLLM-backed dedicated endpoints (the
 * model name). An in-process server on 127.0.0.1 records every body and answers like the real server
 * would; the requests are made by the real ChatClient through the real transport.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../pipeline/core/errors.js";
import { ChatClient, type ChatRequest } from "../pipeline/llm/chat.js";
import { llmConfigSchema, maxTokensField } from "../pipeline/llm/config.js";

type Body = Record<string, unknown>;
type Reply = (body: Body, res: ServerResponse) => void;

let server: Server;
let base = "";
let bodies: { path: string; body: Body }[] = [];
let reply: Reply;

const ok: Reply = (body, res) => {
  const answer = { id: "c", object: "chat.completion", created: 1, model: typeof body.model === "string" ? body.model : "served", choices: [{ index: 0, message: { role: "assistant", content: "fine" }, finish_reason: "stop" }] };
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
};
const error = (res: ServerResponse, status: number, err: Record<string, unknown>) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error: err }));

// OpenAI's answers to a reasoning model (o1, o3, gpt-5...), as the API writes them (quoted in
// teilomillet/gollm#33, griptape-ai/ComfyUI-Griptape#312, gabrii/Cursor-Azure-GPT-5#33).
const openaiReasoning: Reply = (body, res) => {
  if ("max_tokens" in body) {
    return error(res, 400, { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", type: "invalid_request_error", param: "max_tokens", code: "unsupported_parameter" });
  }
  if (body.temperature !== undefined && body.temperature !== 1) {
    return error(res, 400, { message: `Unsupported value: 'temperature' does not support ${body.temperature} with this model. Only the default (1) value is supported.`, type: "invalid_request_error", param: "temperature", code: "unsupported_value" });
  }
  ok(body, res);
};

// vLLM (serving_engine.py _check_model): a model it does not serve is a 404; no model is its own.
const vllm: Reply = (body, res) => {
  if (body.model !== undefined && body.model !== "served-model") {
    return error(res, 404, { message: `The model \`${String(body.model)}\` does not exist.`, type: "NotFoundError", param: null, code: 404 });
  }
  ok(body, res);
};

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text) as Body;
    bodies.push({ path: req.url ?? "", body });
    reply(body, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  bodies = [];
  reply = ok;
});

const ENV = { OPENAI_API_KEY: "sk-test", HF_TOKEN: "hf_test" };
function client(over: Record<string, unknown>) {
  const provider = (over.provider as string | undefined) ?? "openai";
  const cfg = llmConfigSchema.parse({ provider, baseUrl: provider === "openai" ? `${base}/v1` : base, timeoutMs: 2000, attempts: 3, ...over });
  return new ChatClient(cfg, ENV, { sleep: async () => {} });
}
const ask = (c: ChatClient): ChatRequest => ({ model: c.cfg.model ?? "", messages: [{ role: "user", content: "hi" }], temperature: c.cfg.temperature, maxTokens: c.cfg.maxTokens });

describe("llm.maxTokensField", () => {
  it("auto: max_completion_tokens for OpenAI's reasoning model names only", () => {
    const field = (model: string) => maxTokensField({ model, maxTokensField: "auto" });
    for (const m of ["o1", "o1-mini", "o1-preview", "o3", "o3-mini-2025-01-31", "o3-pro", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1", "gpt-5.2-chat-latest", "openai/gpt-5", "O3"]) {
      expect([m, field(m)]).toEqual([m, "max_completion_tokens"]);
    }
    for (const m of ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-3.5-turbo", "gpt-oss-120b", "openai/gpt-oss-20b", "olmo-2", "Qwen/QwQ-32B", "meta-llama/Llama-3.1-8B-Instruct", "gpt-50x", ""]) {
      expect([m, field(m)]).toEqual([m, "max_tokens"]);
    }
    expect(maxTokensField({ model: "gpt-4o", maxTokensField: "max_completion_tokens" })).toBe("max_completion_tokens");
    expect(maxTokensField({ model: "o3", maxTokensField: "max_tokens" })).toBe("max_tokens");
    expect(llmConfigSchema.safeParse({ provider: "openai", model: "x", maxTokensField: "max_new_tokens" }).success).toBe(false);
  });

  for (const provider of ["openai", "hf"] as const) {
    it(`${provider}: sends the limit under the chosen field, and never both`, async () => {
      for (const [over, field] of [
        [{ model: "o3-mini" }, "max_completion_tokens"],
        [{ model: "gpt-4o-mini" }, "max_tokens"],
        [{ model: "gpt-4o-mini", maxTokensField: "max_completion_tokens" }, "max_completion_tokens"],
      ] as const) {
        bodies = [];
        const c = client({ provider, maxTokens: 321, ...over });
        await c.complete(ask(c));
        const other = field === "max_tokens" ? "max_completion_tokens" : "max_tokens";
        expect(bodies[0].body[field]).toBe(321);
        expect(bodies[0].body).not.toHaveProperty(other);
      }
    });

    it(`${provider}: a reasoning model refusing max_tokens is a user error that names llm.maxTokensField, not retried`, async () => {
      reply = openaiReasoning;
      const c = client({ provider, model: "o3", maxTokensField: "max_tokens", temperature: 1 });
      const err = await c.complete(ask(c)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).message).toMatch(/refused the parameter max_tokens for model "o3".*HTTP 400: Unsupported parameter: 'max_tokens'/);
      expect((err as UserError).fix).toMatch(/set llm\.maxTokensField: max_completion_tokens/);
      expect(bodies).toHaveLength(1);
      // With the default ("auto") the same model gets the field it needs.
      bodies = [];
      const auto = client({ provider, model: "o3", temperature: 1 });
      expect((await auto.complete(ask(auto))).text).toBe("fine");
      expect(bodies[0].body).toMatchObject({ max_completion_tokens: 2048 });
    });

    it(`${provider}: a refused temperature names llm.temperature`, async () => {
      reply = openaiReasoning;
      const c = client({ provider, model: "gpt-5-mini" });
      const err = await c.complete(ask(c)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).message).toMatch(/refused temperature 0 for model "gpt-5-mini"/);
      expect((err as UserError).fix).toMatch(/set llm\.temperature: 1/);
    });
  }

  it("a 400 about the limit's value (not the field) stays the server's error", async () => {
    // vLLM's wording when the prompt plus max_tokens exceed the context.
    reply = (_b, res) => error(res, 400, { message: "'max_tokens' or 'max_completion_tokens' is too large: 2048. This model's maximum context length is 4096 tokens and your request has 3000 input tokens (2048 > 4096 - 3000).", type: "BadRequestError", param: null, code: 400 });
    const c = client({ model: "served-model" });
    const err = await c.complete(ask(c)).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(UserError);
    expect(String(err)).toMatch(/too large/);
  });
});

describe("hf with a dedicated endpoint (baseUrl)", () => {
  it("without llm.model sends no model, so a vLLM-backed endpoint serves its own (the URL as a name is a 404)", async () => {
    reply = vllm;
    const c = client({ provider: "hf" });
    const a = await c.complete(ask(c));
    expect(a.text).toBe("fine");
    expect(bodies).toHaveLength(1);
    expect(bodies[0].path).toBe("/v1/chat/completions");
    expect(bodies[0].body).not.toHaveProperty("model");
    expect(bodies[0].body).toMatchObject({ messages: [{ role: "user", content: "hi" }], max_tokens: 2048 });
  });

  it("with llm.model sends the configured name", async () => {
    reply = vllm;
    const c = client({ provider: "hf", model: "served-model" });
    await c.complete(ask(c));
    expect(bodies[0].body.model).toBe("served-model");
    bodies = [];
    const wrong = client({ provider: "hf", model: "other-model" });
    await expect(wrong.complete(ask(wrong))).rejects.toThrow(/404.*other-model/);
  });
});
