import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { APIConnectionError } from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { isTransportFailure, withRetry, type RetryPolicy } from "../pipeline/models/http-retry.js";
import { nodeFetch } from "../pipeline/models/node-fetch.js";
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

  it("the openai client's APIConnectionError is retried only when what it wraps is a transport failure", () => {
    expect(isTransportFailure(new APIConnectionError({ cause: Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) }) }))).toBe(true);
    expect(isTransportFailure(new APIConnectionError({ cause: new TypeError("Cannot read properties of undefined (reading 'x')") }))).toBe(false);
    expect(isTransportFailure(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(true);
    expect(isTransportFailure(Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }))).toBe(true);
    expect(isTransportFailure(new TypeError("x is not a function"))).toBe(false);
  });

  it("Node's fetch (undici) to a closed port fails with a retryable error, retried to the last attempt", async () => {
    const url = await listen(() => {});
    servers[0].close();
    await new Promise((r) => setTimeout(r, 20));
    const { tries, error } = await attemptsUntilSettled(() => fetch(`${url}/x`));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error & { cause?: { code?: string } }).cause?.code).toBe("ECONNREFUSED");
    expect(tries).toBe(policy.attempts);
  });

  it("a body cut off mid-way is retried, both through Node's fetch and through node-fetch.ts", async () => {
    let calls = 0;
    const url = await listen((_req, res) => {
      calls++;
      res.writeHead(200, { "content-length": "100" });
      if (calls % 2 === 1) res.write("partial", () => res.destroy());
      else res.end("x".repeat(100));
    });
    const viaUndici = await attemptsUntilSettled(async () => (await fetch(url)).text());
    expect(viaUndici).toEqual({ tries: 2 });
    const viaNode = await attemptsUntilSettled(async () => (await nodeFetch(2)(url)).text());
    expect(viaNode).toEqual({ tries: 2 });
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
