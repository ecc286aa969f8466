import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../pipeline/core/errors.js";
import { classifyFailure, withRetry, type RetryPolicy } from "../pipeline/models/http-retry.js";
import { transportFor } from "../pipeline/models/transport.js";
import { ResponseShapeError, statusError, TransportError } from "../pipeline/models/transport-error.js";
import { SglangSource, sglangModelSchema } from "../pipeline/models/sglang.js";
import { V } from "./helpers/served.js";

const policy: RetryPolicy = { attempts: 6, baseDelayMs: 1, maxDelayMs: 2, timeoutMs: 2000 };
const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** How many attempts withRetry made before `attempt` succeeded or its error surfaced. */
async function attemptsUntilSettled(attempt: () => Promise<unknown>): Promise<{ tries: number; error?: Error }> {
  let tries = 0;
  try {
    await withRetry(() => (tries++, attempt()), policy, { sleep: async () => {} });
    return { tries };
  } catch (error) {
    return { tries, error: error as Error };
  }
}

describe("only transport failures are retried", () => {
  it("a programming error inside an attempt surfaces after one attempt, with its own message and stack", async () => {
    const bugs: (() => unknown)[] = [
      () => (undefined as unknown as { read(): void }).read(), // TypeError: cannot read properties of undefined
      () => (null as unknown as () => void)(), // TypeError: not a function
      // @ts-expect-error on purpose: a name that does not exist
      () => notDefinedAnywhere, // ReferenceError
      () => new Array(-1), // RangeError
    ];
    for (const bug of bugs) {
      const { tries, error } = await attemptsUntilSettled(async () => bug());
      expect(tries).toBe(1);
      expect(error?.message).not.toMatch(/gave up/);
      expect(error?.stack).toContain("retry-classify.test.ts");
    }
  });

  it("only a TransportError is ever retried: by kind, and by status for status errors", () => {
    for (const kind of ["connection", "timeout", "shape"] as const) expect(classifyFailure(new TransportError(kind, "x")).retry).toBe(true);
    expect(classifyFailure(new ResponseShapeError("short")).retry).toBe(true);
    for (const s of [408, 429, 500, 503]) expect(classifyFailure(statusError(s, "", undefined, "u")).retry).toBe(true);
    for (const s of [400, 401, 404, 422]) expect(classifyFailure(statusError(s, "", undefined, "u")).retry).toBe(false);
    // Errors that look like the network's but are not TransportErrors: our own code, not retried.
    expect(classifyFailure(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })).retry).toBe(false);
    expect(classifyFailure(new TypeError("fetch failed")).retry).toBe(false);
    expect(classifyFailure(new SyntaxError("Unexpected end of JSON input")).retry).toBe(false);
    expect(classifyFailure(new UserError("x", "y")).retry).toBe(false);
  });

  it("the transport to a closed port fails with a connection error, retried to the last attempt", async () => {
    const url = await listen(() => {});
    servers[0].close();
    await new Promise((r) => setTimeout(r, 20));
    const t = transportFor(url, 2, "closed-port test");
    const { tries, error } = await attemptsUntilSettled(() => t.request({ path: "/x", timeoutMs: 1000 }));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).kind).toBe("connection");
    expect(error?.message).toMatch(/ECONNREFUSED/);
    expect(tries).toBe(policy.attempts);
  });

  it("a body cut off mid-way is a connection error, retried", async () => {
    let calls = 0;
    const url = await listen((_req, res) => {
      calls++;
      res.writeHead(200, { "content-length": "100" });
      if (calls % 2 === 1) res.write("partial", () => res.destroy());
      else res.end("x".repeat(100));
    });
    const t = transportFor(url, 2, "cut-body test");
    const kinds: string[] = [];
    let tries = 0;
    const body = await withRetry(() => (tries++, t.request({ path: "/", timeoutMs: 1000 })), policy, { sleep: async () => {}, onRetry: ({ error }) => void kinds.push((error as TransportError).kind) });
    expect(body.body.toString()).toBe("x".repeat(100));
    expect([tries, kinds]).toEqual([2, ["connection"]]);
  });

  it("a provider's response reader that calls undefined fails on the first request, over real HTTP", async () => {
    let requests = 0;
    const url = await listen((_req, res) => {
      requests++;
      res.writeHead(200, { "content-type": "application/json" }).end('{"meta_info":{}}');
    });
    const spec = sglangModelSchema.parse({ provider: "sglang", model: "m", urls: [url], timeoutSeconds: 2 });
    const warnings: string[] = [];
    const src = new SglangSource(spec, { vocabSize: V, role: "baseline", warn: (m) => warnings.push(m) });
    // The attempt path a rows request takes (pool, timeout, fetch, reader), with a reader that has a bug.
    const call = (src as unknown as { call(path: string, body: unknown, ep: undefined, read: (j: unknown) => unknown): Promise<unknown> }).call.bind(src);
    const buggyReader = (json: unknown) => (json as { meta_info: { rows: () => unknown } }).meta_info.rows();
    const err = (await call("/generate", {}, undefined, buggyReader).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toMatch(/rows is not a function/);
    expect(requests).toBe(1);
    expect(warnings).toEqual([]);
  });
});
