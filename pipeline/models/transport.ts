/**
 * The one HTTP transport of whp: model servers (vLLM, SGLang, preflight, the evaluation's targets) and
 * chat endpoints all send through it. One undici `Pool` per server origin (scheme, host, port), held in
 * one registry keyed by origin, so the pool's `connections` is the only concurrency limit a server
 * sees: baseline and reinforced served by one server (what `whp serve` starts), or the evaluation's
 * models, share it. When two users of one origin ask for different concurrencies the smaller one
 * wins for both (the server was sized for the smaller figure by someone) and `warn` says so.
 *
 * A request returns status, headers and the body bytes (or feeds a 2xx body chunk by chunk to a
 * sink); every failure becomes one TransportError (transport-error.ts): non-2xx -> status (with the
 * body and Retry-After), a refused / reset / cut-off connection -> connection, no complete response in
 * time -> timeout. Errors that are not the network's (a bad argument, a throwing sink's own error)
 * pass through unchanged, so the retry policy does not retry them. Nothing here retries.
 *
 * Why undici's Pool and its dispatch handler API: Node's global fetch (undici + WHATWG streams) cost
 * ~1 ms of CPU per request on a 2-core machine, more than scanning a 0.7 MB response; the handler
 * API hands over raw chunks with no stream objects in between. Pipelining stays 1 (model servers
 * answer in arrival order only per connection, and a slow answer must not hold up the next one);
 * connections are kept alive (undici's default).
 *
 * Timeouts: the clock of one attempt starts when the pool puts the request on a connection
 * (onConnect), so time spent queueing for one of the origin's `connections` does not count, and it
 * covers headers and the whole body.
 */
import { Pool } from "undici";
import { parseRetryAfter, statusError, TransportError } from "./transport-error.js";

/** Takes a 2xx response body chunk by chunk (nothing is buffered then). A push that throws stops the
 * reading: that error is what the request rejects with. */
export interface BodySink {
  push(chunk: Uint8Array): void;
}

export interface TransportRequest {
  method?: "GET" | "POST";
  /** Appended to the user's URL (its path included), e.g. "/v1/completions". */
  path: string;
  headers?: Readonly<Record<string, string>>;
  /** A JSON body (serialised here); GET when absent unless `method` says otherwise. */
  json?: unknown;
  /** For the whole response, headers and body, from the moment the request is on a connection. */
  timeoutMs: number;
  sink?: BodySink;
}

export interface TransportResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** Empty when a sink took the body. */
  body: Buffer;
}

interface OriginEntry {
  readonly origin: string;
  readonly users: Map<string, number>;
  limit: number;
  pool?: Pool;
  /** Requests given to the pool and not settled (queued or running): the load replicas are picked by. */
  inFlight: number;
}

const ORIGINS = new Map<string, OriginEntry>();
/** origin -> where its pool really connects: for tests only, so no test leaves the machine. */
const ROUTES = new Map<string, string>();

/** Largest Content-Length allocated up front (a lying header must not allocate terabytes). */
const MAX_PREALLOCATED = 4 * 1024 ** 3;

/** Socket-level codes of a connection that failed or dropped, and undici's own for a closed socket,
 * a body shorter than announced, or a response the parser could not read. */
const CONNECTION_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "EAI_AGAIN", "ENOTFOUND", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "UND_ERR_DESTROYED", "UND_ERR_RES_CONTENT_LENGTH_MISMATCH", "UND_ERR_INFO"]);
const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** An error undici reported, as a TransportError when it is the network's; anything else as it is. */
function networkFailure(err: Error, url: string): Error {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") return err;
  if (TIMEOUT_CODES.has(code)) return new TransportError("timeout", `${url}: ${err.message}`, { cause: err });
  if (CONNECTION_CODES.has(code) || code.startsWith("HPE_")) return new TransportError("connection", `${url}: ${err.message} (${code})`, { cause: err });
  return err;
}

function headerRecord(raw: Buffer[] | string[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toString().toLowerCase();
    const value = raw[i + 1].toString();
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  }
  return out;
}

/** One user's handle on its server: requests go to `<url><path>` through the origin's shared pool. */
export class Transport {
  /** The user's URL without a trailing slash (errors name it). */
  readonly url: string;
  private readonly basePath: string;

  constructor(
    private readonly entry: OriginEntry,
    url: string,
  ) {
    this.url = url.replace(/\/+$/, "");
    this.basePath = new URL(this.url).pathname.replace(/\/+$/, "");
  }

  get origin(): string {
    return this.entry.origin;
  }

  /** The origin's concurrency limit (its pool's `connections`). */
  get limit(): number {
    return this.entry.limit;
  }

  /** Requests to the origin queued or running, from every user. */
  get load(): number {
    return this.entry.inFlight;
  }

  /** Sends one request; resolves with a 2xx response, rejects with a TransportError (or, for an error
   * that is not the network's, that error). Never retries. */
  request(req: TransportRequest): Promise<TransportResponse> {
    const entry = this.entry;
    const pool = poolOf(entry);
    const url = `${this.url}${req.path}`;
    const body = req.json === undefined ? undefined : Buffer.from(JSON.stringify(req.json));
    const headers: Record<string, string> = { ...req.headers };
    if (body) headers["content-type"] = "application/json";
    if (ROUTES.has(entry.origin)) headers.host = new URL(entry.origin).host; // a routed origin (tests) is still asked for by its name
    const sink = req.sink;
    entry.inFlight++;
    return new Promise<TransportResponse>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let abort: ((err?: Error) => void) | undefined;
      let timedOut = false;
      let sinkError: unknown;
      let status = 0;
      let resHeaders: Record<string, string> = {};
      let streaming = false;
      let whole: Buffer | undefined;
      let filled = 0;
      let chunks: Buffer[] = [];
      const settle = (err: unknown, res?: TransportResponse) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        entry.inFlight--;
        if (res) resolve(res);
        else reject(err);
      };
      pool.dispatch(
        { path: `${this.basePath}${req.path}`, method: req.method ?? (body ? "POST" : "GET"), headers, body, headersTimeout: 0, bodyTimeout: 0 },
        {
          onConnect(a) {
            abort = a;
            if (settled) return a();
            // The attempt's clock starts once the request holds a connection (see the file comment).
            timer ??= setTimeout(() => {
              timedOut = true;
              abort?.(new TransportError("timeout", `${url}: no complete response within ${req.timeoutMs} ms`));
            }, req.timeoutMs);
          },
          onHeaders(statusCode, raw) {
            if (statusCode < 200) return true; // 1xx: the real answer follows
            status = statusCode;
            resHeaders = headerRecord(raw);
            streaming = sink !== undefined && status < 300;
            // The body goes straight into one buffer of the announced length: a full-row response is
            // about a gigabyte, and chunks plus their concatenation held it twice over.
            const announced = Number(resHeaders["content-length"]);
            whole = !streaming && Number.isSafeInteger(announced) && announced >= 0 && announced <= MAX_PREALLOCATED ? Buffer.allocUnsafe(announced) : undefined;
            return true;
          },
          onData(chunk) {
            if (streaming) {
              try {
                sink!.push(chunk);
              } catch (e) {
                // The body cannot be rows: stop reading it; the request fails with the sink's error.
                sinkError = e;
                abort?.(e instanceof Error ? e : new Error(String(e)));
                return false;
              }
            } else if (whole && filled + chunk.length <= whole.length) {
              chunk.copy(whole, filled);
              filled += chunk.length;
            } else {
              if (whole) chunks.push(whole.subarray(0, filled)); // longer than announced: chunks instead
              whole = undefined;
              chunks.push(chunk);
            }
            return true;
          },
          onComplete() {
            const bytes = streaming ? Buffer.alloc(0) : whole && filled === whole.length ? whole : Buffer.concat(whole ? [whole.subarray(0, filled)] : chunks);
            whole = undefined;
            chunks = [];
            if (status >= 200 && status < 300) return settle(undefined, { status, headers: resHeaders, body: bytes });
            settle(statusError(status, bytes.toString("utf8"), parseRetryAfter(resHeaders["retry-after"]), url));
          },
          onError(err) {
            if (sinkError !== undefined) return settle(sinkError);
            if (timedOut) return settle(new TransportError("timeout", `${url}: no complete response within ${req.timeoutMs} ms`));
            settle(networkFailure(err, url));
          },
        },
      );
    });
  }
}

function poolOf(entry: OriginEntry): Pool {
  // Created at the first request, with the limit every user has registered by then.
  entry.pool ??= new Pool(ROUTES.get(entry.origin) ?? entry.origin, { connections: entry.limit, pipelining: 1 });
  return entry.pool;
}

/**
 * The transport of the server at `url` for one user (e.g. "models.baseline (vLLM base)"), asking for
 * `concurrency` requests at a time. Every user of one origin shares its pool; the smallest
 * concurrency asked wins for all, and `warn` says so when the users disagree. The registry lives as
 * long as the process: an origin keeps the smallest figure any of its users asked for. Without
 * `concurrency` (a one-off request, e.g. asking a server which model it serves) the user claims no
 * limit: it shares whatever the origin's users set (one request at a time until one registers).
 */
export function transportFor(url: string, concurrency?: number, user = "", warn?: (message: string) => void): Transport {
  const origin = new URL(url).origin;
  let entry = ORIGINS.get(origin);
  if (!entry) {
    entry = { origin, users: new Map(), limit: concurrency ?? 1, inFlight: 0 };
    ORIGINS.set(origin, entry);
  }
  if (concurrency === undefined) return new Transport(entry, url);
  entry.users.set(user, concurrency);
  const smallest = Math.min(...entry.users.values());
  if (new Set(entry.users.values()).size > 1 && (smallest !== entry.limit || concurrency !== smallest)) {
    const who = [...entry.users].map(([u, c]) => `${u}: ${c}`).join(", ");
    warn?.(`${origin} is reached by several models with different concurrency (${who}); they share one limit of ${smallest} request(s) at a time to that server`);
  }
  if (smallest !== entry.limit && entry.pool) {
    // A pool's `connections` is fixed: requests from now on go to a new pool of the new size, the
    // old one closes once its requests are done.
    void entry.pool.close().catch(() => {});
    entry.pool = undefined;
  }
  entry.limit = smallest;
  return new Transport(entry, url);
}

/** Tests only: connect requests for `origin` to `to` instead (a local server), so a test can check
 * the URL a client builds for a public service without leaving the machine. */
export function routeOriginForTests(origin: string, to: string): void {
  ROUTES.set(new URL(origin).origin, new URL(to).origin);
  const entry = ORIGINS.get(new URL(origin).origin);
  if (entry?.pool) {
    void entry.pool.close().catch(() => {});
    entry.pool = undefined;
  }
}
