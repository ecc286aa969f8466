/**
 * The ONE retry policy of every HTTP request (model servers and chat endpoints), and the choice of a
 * replica for each attempt. It classifies only TransportError (transport-error.ts):
 * retried: status 408, 429 (waiting at least its Retry-After) and 5xx; connection; timeout; shape (a
 * truncated or garbled body is a transport failure, never a label). Not retried: other statuses (the
 * request itself is wrong; providers turn those into UserErrors that name the fix) and anything that is
 * not a TransportError: a TypeError from our own reader, a UserError, surfaces after one attempt with
 * its own message and stack. Jittered backoff lives here only; no client retries on its own.
 */
import { TransportError } from "./transport-error.js";

export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Per attempt, covering the whole response body (the transport's clock). */
  readonly timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000, timeoutMs: 120_000 };

interface Verdict {
  retry: boolean;
  retryAfterMs?: number;
  status?: number;
}

/** Sorts a failure into retry / give up: only a TransportError is ever retried. */
export function classifyFailure(err: unknown): Verdict {
  if (!(err instanceof TransportError)) return { retry: false };
  if (err.kind === "status") {
    const s = err.status ?? 0;
    return { retry: s === 408 || s === 429 || s >= 500, retryAfterMs: err.retryAfterMs, status: s };
  }
  return { retry: true, retryAfterMs: err.retryAfterMs };
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

/** Hooks that warn about each retry as "<where>: attempt N failed (<reason>); retrying in M ms". */
export function warnRetries(where: string, warn: ((message: string) => void) | undefined): RetryHooks {
  return { onRetry: ({ attempt, delayMs, error }) => warn?.(`${where}: attempt ${attempt} failed (${String((error as Error).message).slice(0, 160)}); retrying in ${Math.round(delayMs)} ms`) };
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `attempt` until it succeeds, a failure is not retryable, or the policy's attempts are spent. */
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

/** What the pool needs of an endpoint's transport (transport.ts). */
interface Loaded {
  readonly transport: { readonly load: number; readonly limit: number };
}

/**
 * Several replicas of one model. An attempt goes to the endpoint whose server has the fewest requests
 * queued or running (ties -> the next in turn), so replicas share the load even when one is slower.
 * It limits nothing itself: each server's pool (transport.ts) is the one concurrency limit. Retries
 * happen outside: each attempt picks an endpoint again, so a failing replica is not hammered.
 */
export class EndpointPool<E extends Loaded> {
  private turn = 0;

  constructor(readonly endpoints: readonly E[]) {
    if (endpoints.length === 0) throw new Error("an endpoint pool needs at least one endpoint");
  }

  /** Total requests the pool's servers run at once. */
  get capacity(): number {
    return this.endpoints.reduce((s, e) => s + e.transport.limit, 0);
  }

  /** Calls `task` with the least busy endpoint. The task must hand its request to the transport
   * before its first await, so the next pick already sees it in the load. */
  run<T>(task: (endpoint: E) => Promise<T>): Promise<T> {
    let best = 0;
    let bestLoad = Infinity;
    const n = this.endpoints.length;
    for (let j = 0; j < n; j++) {
      const idx = (this.turn + j) % n;
      const load = this.endpoints[idx].transport.load;
      if (load < bestLoad) {
        best = idx;
        bestLoad = load;
      }
    }
    this.turn = (best + 1) % n;
    return task(this.endpoints[best]);
  }
}
