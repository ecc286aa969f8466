/**
 * Transport for model servers: the ONE place where failed requests are retried, and the per-endpoint
 * concurrency limits that spread requests over replicas.
 *
 * Retried: 408, 429 (waiting at least its Retry-After), 5xx, dropped connections, timeouts, and bodies
 * that are not JSON or do not have the expected shape (a truncated or garbled response is a transport
 * failure, never a label). Not retried: other 4xx (the request itself is wrong; providers turn those
 * into UserErrors that name the fix). Clients must not retry on their own (openai: maxRetries 0).
 */
import pLimit, { type LimitFunction } from "p-limit";
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";

export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Per attempt, covering the whole response body. */
  readonly timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000, timeoutMs: 120_000 };

/** A non-2xx answer from a server read with fetch (the openai client throws its own APIError). */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly retryAfterMs: number | undefined,
    url: string,
  ) {
    super(`HTTP ${status} from ${url}: ${body.slice(0, 300)}`);
  }
}

/** A 2xx answer whose body does not have the shape the protocol promises (wrong number of positions,
 * missing fields...). Retried like a dropped connection: a server may answer correctly next time. */
export class ResponseShapeError extends Error {}

/** Parses a Retry-After header (seconds, or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

interface Verdict {
  retry: boolean;
  retryAfterMs?: number;
  status?: number;
}

/** Sorts a failure into retry / give up. */
export function classifyFailure(err: unknown): Verdict {
  if (err instanceof APIConnectionError) return { retry: isTransportFailure(err) }; // includes the SDK's timeout error
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    const header = err.headers?.get?.("retry-after") ?? undefined;
    return { retry: status === 408 || status === 429 || status >= 500, retryAfterMs: parseRetryAfter(header), status };
  }
  if (err instanceof HttpStatusError) {
    const s = err.status;
    return { retry: s === 408 || s === 429 || s >= 500, retryAfterMs: err.retryAfterMs, status: s };
  }
  if (err instanceof ResponseShapeError || err instanceof SyntaxError) return { retry: true };
  return { retry: isTransportFailure(err) };
}

/** Socket-level error codes of a connection that failed or dropped (node:net / node:http, and undici's
 * own UND_ERR_* codes: socket closed, headers/body timeout, connect timeout...). */
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "EAI_AGAIN", "ENOTFOUND"]);

const networkCode = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && (NETWORK_CODES.has(code) || code.startsWith("UND_ERR_"));
};

/**
 * Whether `err` is the network failing rather than our own code: only then is an attempt worth
 * repeating. Not every TypeError: a bug in a response reader (calling undefined, reading a property
 * of null) is a TypeError too, and retrying it six times with backoff only hid it for 15 s.
 * Recognised: fetch's (undici's) dropped connection, a TypeError "fetch failed" whose cause carries
 * the socket error, and "terminated" for a body cut off mid-way (undici lib/web/fetch/index.js; our
 * node:http fetch in node-fetch.ts raises the same two); a raw socket error with a network code; our
 * own timeout (AbortError / TimeoutError, see `timed`); the openai client's APIConnectionError when
 * what it wraps is one of these (it wraps whatever the fetch threw, programming errors included).
 */
export function isTransportFailure(err: unknown, depth = 0): boolean {
  if (depth > 4 || err === null || typeof err !== "object") return false;
  const e = err as Error & { cause?: unknown };
  if (e.name === "AbortError" || e.name === "TimeoutError") return true;
  if (err instanceof APIConnectionTimeoutError) return true;
  if (err instanceof APIConnectionError) return e.cause === undefined || isTransportFailure(e.cause, depth + 1);
  if (err instanceof TypeError && (e.message === "fetch failed" || e.message === "terminated")) return true;
  if (networkCode(err)) return true;
  return false;
}

/** Full-jitter exponential backoff, never shorter than the server's Retry-After. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number, retryAfterMs?: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  const jittered = cap / 2 + random() * (cap / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}

export interface RetryHooks {
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `attempt` until it succeeds, a failure is not retryable, or the policy's attempts are spent.
 * The attempt starts its own timeout (see `timed`) once it holds its endpoint slot, so time spent
 * queueing for a slot does not count.
 */
export async function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, hooks: RetryHooks = {}): Promise<T> {
  const random = hooks.random ?? Math.random;
  const sleep = hooks.sleep ?? realSleep;
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      const verdict = classifyFailure(err);
      if (!verdict.retry || i + 1 >= policy.attempts) {
        if (verdict.retry) (err as Error).message = `${(err as Error).message} (gave up after ${policy.attempts} attempts)`;
        throw err;
      }
      const delayMs = backoffMs(i, policy, random, verdict.retryAfterMs);
      hooks.onRetry?.({ attempt: i + 1, delayMs, error: err });
      await sleep(delayMs);
    }
  }
}

/**
 * Several replicas of one model, each behind its own p-limit. A request goes to the endpoint with the
 * fewest requests queued or running (ties -> the next in turn), so replicas share the load even when
 * one is slower. Retries happen outside: each attempt picks an endpoint again, so a failing replica is
 * not hammered.
 */
export class EndpointPool<E> {
  private readonly limits: LimitFunction[];
  private turn = 0;

  /** `limits`: one per endpoint, e.g. from `originLimit` so pools reaching one server share it; by
   * default each endpoint gets its own limit of `concurrency`. */
  constructor(
    readonly endpoints: readonly E[],
    concurrency: number,
    limits?: readonly LimitFunction[],
  ) {
    if (endpoints.length === 0) throw new Error("an endpoint pool needs at least one endpoint");
    if (limits && limits.length !== endpoints.length) throw new Error("an endpoint pool needs one limit per endpoint");
    this.limits = limits ? [...limits] : endpoints.map(() => pLimit(concurrency));
  }

  /** Total requests the pool runs at once. */
  get capacity(): number {
    return this.limits.reduce((s, l) => s + l.concurrency, 0);
  }

  run<T>(task: (endpoint: E) => Promise<T>): Promise<T> {
    let best = -1;
    let bestLoad = Infinity;
    for (let j = 0; j < this.limits.length; j++) {
      const idx = (this.turn + j) % this.limits.length;
      const load = this.limits[idx].activeCount + this.limits[idx].pendingCount;
      if (load < bestLoad) {
        best = idx;
        bestLoad = load;
      }
    }
    this.turn = (best + 1) % this.limits.length;
    return this.limits[best](() => task(this.endpoints[best]));
  }
}

/**
 * The concurrency limit of one server, shared by every source that reaches it. A server's capacity is
 * the server's, not a role's: with baseline and reinforced served by one server (what `whp serve`
 * starts), a limit per source let twice the configured requests run at once. Keyed by origin
 * (scheme, host, port): two paths on one host:port are one server.
 *
 * When two users of one origin configure different concurrencies, the smaller one wins for both (the
 * server was sized for the smaller figure by someone) and `warn` says so once per change. The
 * registry lives as long as the process: an origin keeps the smallest figure any of its users asked for.
 */
export function originLimit(url: string, concurrency: number, user: string, warn?: (message: string) => void): LimitFunction {
  const origin = new URL(url).origin;
  let entry = ORIGIN_LIMITS.get(origin);
  if (!entry) {
    entry = { limit: pLimit(concurrency), users: new Map() };
    ORIGIN_LIMITS.set(origin, entry);
  }
  entry.users.set(user, concurrency);
  const smallest = Math.min(...entry.users.values());
  if (smallest !== entry.limit.concurrency || (entry.users.size > 1 && concurrency !== smallest)) {
    const who = [...entry.users].map(([u, c]) => `${u}: ${c}`).join(", ");
    warn?.(`${origin} is reached by several models with different concurrency (${who}); they share one limit of ${smallest} request(s) at a time to that server`);
  }
  entry.limit.concurrency = smallest;
  return entry.limit;
}

const ORIGIN_LIMITS = new Map<string, { limit: LimitFunction; users: Map<string, number> }>();

/** Runs `fn` with a signal that aborts after `ms`; an abort surfaces as a (retryable) TimeoutError
 * whatever error the client library turned it into, since the whole body must arrive in time. */
export async function timed<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = AbortSignal.timeout(ms);
  try {
    return await fn(signal);
  } catch (err) {
    if (signal.aborted) {
      const e = new Error(`no complete response within ${ms} ms`);
      e.name = "TimeoutError";
      throw e;
    }
    throw err;
  }
}

/** POST/GET JSON with fetch, turning non-2xx into HttpStatusError and unparsable bodies into SyntaxError. */
export async function fetchJson(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; signal: AbortSignal }): Promise<unknown> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: { ...(init.body === undefined ? {} : { "content-type": "application/json" }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
  });
  const text = await res.text();
  if (!res.ok) throw new HttpStatusError(res.status, text, parseRetryAfter(res.headers.get("retry-after")), url);
  return JSON.parse(text);
}
