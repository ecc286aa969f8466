/**
 * An in-process server on 127.0.0.1 speaking the OpenAI chat-completions protocol, for tests that drive
 * the real chat client. Each request takes the next scripted reply (an HTTP error with an optional
 * Retry-After, a raw body, or an answer), or the test's fallback when the script is empty. Every
 * request body is appended to `bodies`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type ScriptedReply = { status?: number; retryAfter?: string; content?: string; raw?: string };

export async function startScriptedChatServer<B>(opts: {
  model: string;
  script: ScriptedReply[];
  bodies: B[];
  fallback: (body: B) => ScriptedReply;
}): Promise<{ server: Server; base: string }> {
  const server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text) as B;
    opts.bodies.push(body);
    const r = opts.script.shift() ?? opts.fallback(body);
    if (r.status) {
      res.writeHead(r.status, { "content-type": "application/json", ...(r.retryAfter ? { "retry-after": r.retryAfter } : {}) }).end('{"error":{"message":"busy"}}');
      return;
    }
    if (r.raw !== undefined) {
      res.writeHead(200, { "content-type": "application/json" }).end(r.raw);
      return;
    }
    const answer = { id: "c", object: "chat.completion", created: 1, model: opts.model, choices: [{ index: 0, message: { role: "assistant", content: r.content }, finish_reason: "stop" }] };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}
