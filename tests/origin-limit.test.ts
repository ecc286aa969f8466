/**
 * The concurrency limit belongs to the server, not to the source: baseline and reinforced served by one
 * server (what `whp serve` starts) share its `concurrency` (one transport pool per origin, whose
 * connections are the limit), over real HTTP, through the real providers.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SglangSource, sglangModelSchema } from "../pipeline/models/sglang.js";
import { VllmSource, vllmModelSchema } from "../pipeline/models/vllm.js";
import { V } from "./helpers/served.js";

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => (s.closeAllConnections(), s.close())));

/** A server that holds each completion request 15 ms and records the most it ever held at once, and
 * the connections opened to it. */
async function countingServer(): Promise<{ url: string; peak: () => number; requests: () => number; sockets: () => number }> {
  let sockets = 0;
  let inFlight = 0;
  let peak = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      requests++;
      peak = Math.max(peak, ++inFlight);
      setTimeout(() => {
        inFlight--;
        // Both shapes at once: vLLM's /v1/completions reads choices[0].text, SGLang's /generate reads text.
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ choices: [{ index: 0, text: "x" }], text: "x" }));
      }, 15);
    });
  });
  server.on("connection", () => sockets++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, peak: () => peak, requests: () => requests, sockets: () => sockets };
}

const vllm = (url: string, role: string, concurrency: number, warnings: string[]) =>
  new VllmSource(vllmModelSchema.parse({ provider: "vllm", model: role, urls: [url], concurrency, timeoutSeconds: 5 }), { vocabSize: V, role, warn: (m) => warnings.push(m) });
const sglang = (url: string, role: string, concurrency: number, warnings: string[]) =>
  new SglangSource(sglangModelSchema.parse({ provider: "sglang", model: role, urls: [url], concurrency, timeoutSeconds: 5 }), { vocabSize: V, role, warn: (m) => warnings.push(m) });

/** 24 completions from each source, all started at once. */
async function flood(sources: { complete(tokens: readonly number[], max: number): Promise<string> }[]): Promise<void> {
  await Promise.all(sources.flatMap((s) => Array.from({ length: 24 }, (_, i) => s.complete([0, 1 + i], 1))));
}

describe("one concurrency limit per server origin", () => {
  for (const [name, make] of [["vLLM", vllm], ["SGLang", sglang]] as const) {
    it(`${name}: baseline and reinforced on one server never have more than its concurrency in flight together`, async () => {
      const s = await countingServer();
      const warnings: string[] = [];
      await flood([make(s.url, "baseline", 3, warnings), make(s.url, "reinforced", 3, warnings)]);
      expect(s.requests()).toBe(48);
      expect(s.peak()).toBe(3);
      // One pool for the server: its connections are the limit, kept alive and shared by both roles.
      expect(s.sockets()).toBeLessThanOrEqual(3);
      expect(warnings).toEqual([]);
    });
  }

  it("two servers keep a limit each", async () => {
    const [a, b] = [await countingServer(), await countingServer()];
    await flood([vllm(a.url, "baseline", 2, []), vllm(b.url, "reinforced", 2, [])]);
    expect([a.peak(), b.peak()]).toEqual([2, 2]);
  });

  it("different concurrencies on one server: the smaller one holds for both, with a warning naming both", async () => {
    const s = await countingServer();
    const warnings: string[] = [];
    // A trailing slash or path does not make another server.
    await flood([vllm(s.url, "baseline", 4, warnings), sglang(`${s.url}/`, "reinforced", 2, warnings)]);
    expect(s.peak()).toBe(2);
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.at(-1)).toMatch(/models\.baseline \(vLLM baseline\): 4, models\.reinforced \(SGLang reinforced\): 2\); they share one limit of 2/);
  });
});
