/**
 * The one transport (pipeline/models/transport.ts) with the one retry policy, over real HTTP on
 * 127.0.0.1 against node:http servers made here: the origin's pool is the only concurrency limit and
 * is shared by its users; 429 waits its Retry-After; 5xx, a reset connection, a body cut off and a
 * body that is not JSON are TransportErrors and retried; the timeout covers the whole body but not
 * the wait for a connection; a programming error inside an attempt is not retried.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { withRetry, type RetryPolicy } from "../pipeline/models/http-retry.js";
import { transportFor } from "../pipeline/models/transport.js";
import { parseJsonBody, ResponseShapeError, TransportError } from "../pipeline/models/transport-error.js";

const policy: RetryPolicy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2, timeoutMs: 2000 };
const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => (s.closeAllConnections(), s.close())));

interface Counting {
  url: string;
  requests: number;
  peak: number;
  sockets: number;
}

/** A server that runs `handler` for request number `n` (1-based) and counts requests, the most in
 * flight at once, and the connections opened. */
async function serve(handler: (n: number, req: IncomingMessage, res: ServerResponse) => void): Promise<Counting> {
  const c: Counting = { url: "", requests: 0, peak: 0, sockets: 0 };
  let inFlight = 0;
  const server = createServer((req, res) => {
    const n = ++c.requests;
    c.peak = Math.max(c.peak, ++inFlight);
    res.on("close", () => inFlight--);
    req.resume();
    req.on("end", () => handler(n, req, res));
  });
  server.on("connection", () => c.sockets++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  c.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return c;
}

const json = (res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}) =>
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));

let unique = 0;
/** A user name of its own per call: the registry keeps users for the process's life. */
const user = (what: string) => `${what} #${++unique}`;

/** Retries `attempt`, recording the kind of each failure retried. */
async function retried<T>(attempt: () => Promise<T>, p: RetryPolicy = policy): Promise<{ value?: T; error?: unknown; tries: number; kinds: string[] }> {
  let tries = 0;
  const kinds: string[] = [];
  try {
    const value = await withRetry(() => (tries++, attempt()), p, { onRetry: ({ error }) => void kinds.push(error instanceof TransportError ? error.kind : `not a TransportError: ${String(error)}`) });
    return { value, tries, kinds };
  } catch (error) {
    return { error, tries, kinds };
  }
}

describe("one pool per origin", () => {
  it("two users of one origin share its connection limit: never more in flight or connected than it", async () => {
    const s = await serve((_n, _req, res) => setTimeout(() => json(res, { ok: true }), 15));
    const a = transportFor(s.url, 3, user("baseline"));
    const b = transportFor(`${s.url}/other/path`, 3, user("reinforced")); // another path is the same server
    expect(b.limit).toBe(3);
    await Promise.all([a, b].flatMap((t) => Array.from({ length: 20 }, () => t.request({ path: "/v1/completions", json: { x: 1 }, timeoutMs: 2000 }))));
    expect(s.requests).toBe(40);
    expect(s.peak).toBe(3);
    expect(s.sockets).toBeLessThanOrEqual(3); // kept alive and reused
    expect(a.load).toBe(0);
  });

  it("different concurrencies: the smaller one holds for both, with one warning naming both", async () => {
    const s = await serve((_n, _req, res) => setTimeout(() => json(res, { ok: true }), 15));
    const warnings: string[] = [];
    const a = transportFor(s.url, 4, "models.baseline", (m) => warnings.push(m));
    const b = transportFor(s.url, 2, "models.reinforced", (m) => warnings.push(m));
    expect([a.limit, b.limit]).toEqual([2, 2]);
    await Promise.all([a, b].flatMap((t) => Array.from({ length: 8 }, () => t.request({ path: "/", timeoutMs: 2000 }))));
    expect(s.peak).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/models\.baseline: 4, models\.reinforced: 2\); they share one limit of 2/);
  });
});

describe("failures are TransportErrors, retried by the one policy", () => {
  it("a 429 waits at least its Retry-After, then succeeds", async () => {
    const s = await serve((n, _req, res) => (n === 1 ? json(res, { error: { message: "slow down" } }, 429, { "retry-after": "0.3" }) : json(res, { ok: true })));
    const t = transportFor(s.url, 2, user("429"));
    const t0 = performance.now();
    const r = await retried(() => t.request({ path: "/", timeoutMs: 2000 }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(r.kinds).toEqual(["status"]);
    expect(parseJsonBody(r.value!.body, "test")).toEqual({ ok: true });
  });

  it("a 5xx is retried; a 400 is not, and carries the server's body", async () => {
    const s = await serve((n, req, res) => (req.url === "/bad" ? json(res, { error: { message: "no such field" } }, 400) : n === 1 ? json(res, {}, 503) : json(res, { ok: true })));
    const t = transportFor(s.url, 2, user("5xx"));
    const ok = await retried(() => t.request({ path: "/", timeoutMs: 2000 }));
    expect([ok.tries, ok.kinds]).toEqual([2, ["status"]]);
    const bad = await retried(() => t.request({ path: "/bad", timeoutMs: 2000 }));
    expect(bad.tries).toBe(1);
    expect(bad.error).toBeInstanceOf(TransportError);
    expect(bad.error).toMatchObject({ kind: "status", status: 400 });
    expect((bad.error as TransportError).body).toContain("no such field");
  });

  it("a connection reset before any answer is a connection error, retried", async () => {
    const s = await serve((n, req, res) => (n === 1 ? req.socket.destroy() : json(res, { ok: true })));
    const t = transportFor(s.url, 2, user("reset"));
    const r = await retried(() => t.request({ path: "/", json: {}, timeoutMs: 2000 }));
    expect([r.tries, r.kinds]).toEqual([2, ["connection"]]);
  });

  it("a body cut off mid-way is a connection error; a complete body that is not JSON is a shape error; both retried", async () => {
    const s = await serve((n, _req, res) => {
      if (n === 1) {
        res.writeHead(200, { "content-length": "100" });
        res.write('{"choices":[', () => res.destroy());
      } else if (n === 2) res.writeHead(200, { "content-type": "application/json" }).end('{"choices":[');
      else json(res, { choices: [] });
    });
    const t = transportFor(s.url, 2, user("cut"));
    const r = await retried(async () => parseJsonBody((await t.request({ path: "/", timeoutMs: 2000 })).body, "/"));
    expect(r.value).toEqual({ choices: [] });
    expect([r.tries, r.kinds]).toEqual([3, ["connection", "shape"]]);
  });

  it("the timeout covers the whole body: headers at once and a body that trickles past it time out", async () => {
    const s = await serve((n, _req, res) => {
      if (n > 1) return json(res, { ok: true });
      res.writeHead(200, { "content-type": "application/json" });
      const tick = setInterval(() => res.write(" "), 50); // bytes keep coming, the body never ends in time
      res.on("close", () => clearInterval(tick));
    });
    const t = transportFor(s.url, 2, user("trickle"));
    const t0 = performance.now();
    const r = await retried(() => t.request({ path: "/", timeoutMs: 300 }));
    const took = performance.now() - t0;
    expect([r.tries, r.kinds]).toEqual([2, ["timeout"]]);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1500);
  });

  it("the wait for one of the origin's connections does not count against a request's timeout", async () => {
    const s = await serve((_n, _req, res) => setTimeout(() => json(res, { ok: true }), 200));
    const t = transportFor(s.url, 1, user("queue"));
    // Three requests on one connection: the last waits ~400 ms, longer than its 300 ms timeout.
    const all = await Promise.all(Array.from({ length: 3 }, () => t.request({ path: "/", timeoutMs: 300 })));
    expect(all.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(s.peak).toBe(1);
  });

  it("a programming error inside an attempt (a TypeError from a response reader) is not retried: one attempt, at once", async () => {
    const s = await serve((_n, _req, res) => json(res, { meta_info: {} }));
    const t = transportFor(s.url, 2, user("bug"));
    const reader = (j: unknown) => (j as { meta_info: { rows: () => unknown } }).meta_info.rows();
    const t0 = performance.now();
    const r = await retried(async () => reader(parseJsonBody((await t.request({ path: "/", timeoutMs: 2000 })).body, "/")), { ...policy, baseDelayMs: 2000, maxDelayMs: 2000 });
    expect(r.error).toBeInstanceOf(TypeError);
    expect((r.error as Error).message).toMatch(/rows is not a function/);
    expect(r.tries).toBe(1);
    expect(s.requests).toBe(1);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("a sink that refuses a body stops the request with its own error: a shape error is retried, a TypeError is not", async () => {
    const s = await serve((_n, _req, res) => json(res, { rows: "x".repeat(1000) }));
    const t = transportFor(s.url, 2, user("sink"));
    let shapeCalls = 0;
    const shape = await retried(() => t.request({ path: "/", timeoutMs: 2000, sink: { push: () => void (shapeCalls++ < 1 && (() => { throw new ResponseShapeError("not rows"); })()) } }));
    expect([shape.tries, shape.kinds]).toEqual([2, ["shape"]]);
    const bug = await retried(() => t.request({ path: "/", timeoutMs: 2000, sink: { push: () => (null as unknown as { push(): void }).push() } }));
    expect(bug.error).toBeInstanceOf(TypeError);
    expect(bug.tries).toBe(1);
  });
});
