/**
 * The one error type of every HTTP request whp makes (model servers and chat endpoints alike), and the
 * only type the retry policy (http-retry.ts) looks at:
 * - status: the server answered non-2xx (`status`, its `body` as text, `retryAfterMs` from Retry-After);
 * - connection: the connection failed or dropped (refused, reset, closed mid-body);
 * - timeout: no complete response (headers AND body) within the attempt's time;
 * - shape: a 2xx body that is not JSON, or not the shape the protocol promises.
 * Anything else thrown inside an attempt (a TypeError from our own reader, a UserError) is not a
 * transport failure and surfaces at once. Kept apart from transport.ts so row readers can raise shape
 * errors without loading the HTTP client.
 */
import { redact } from "../core/redact.js";

export type TransportErrorKind = "status" | "connection" | "timeout" | "shape";

export class TransportError extends Error {
  readonly status?: number;
  readonly retryAfterMs?: number;
  /** The response body of a status error, as text (redacted: a proxy may echo the Authorization header). */
  readonly body?: string;

  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    extra: { status?: number; retryAfterMs?: number; body?: string; cause?: unknown } = {},
  ) {
    super(redact(message), extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "TransportError";
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = extra.retryAfterMs;
    if (extra.body !== undefined) this.body = redact(extra.body);
  }
}

/** A 2xx body that does not have the shape the protocol promises (wrong number of positions, missing
 * fields...): a TransportError of kind "shape", retried like a dropped connection (a server may answer
 * correctly next time). Its own class only so row readers and tests can name it. */
export class ResponseShapeError extends TransportError {
  constructor(message: string, cause?: unknown) {
    super("shape", message, { cause });
    this.name = "ResponseShapeError";
  }
}

/** A non-2xx answer as a status error; the message carries the start of the body. */
export function statusError(status: number, body: string, retryAfterMs: number | undefined, url: string): TransportError {
  return new TransportError("status", `HTTP ${status} from ${url}: ${body.slice(0, 300)}`, { status, body, retryAfterMs });
}

/** Parses a Retry-After header (seconds, or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** A 2xx body parsed as JSON; not JSON is a shape error (retried), naming what was read. */
export function parseJsonBody(body: Uint8Array | string, what: string): unknown {
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ResponseShapeError(`${what}: the response is not JSON (${(e as Error).message})`, e);
  }
}

/** The message of a model server's error body, in any of the shapes servers use: the OpenAI shape
 * {"error": {"message"}} (vLLM >= 0.10.1), vLLM's flat {"object": "error", "message", "type", "code"}
 * (0.6 to 0.10.0), FastAPI's {"detail"}, or plain text. */
export function serverErrorMessage(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text.trim();
  }
  const b = body as { error?: unknown; message?: unknown; detail?: unknown } | null;
  if (b && typeof b.error === "object" && b.error && typeof (b.error as { message?: unknown }).message === "string") return (b.error as { message: string }).message;
  if (b && typeof b.message === "string") return b.message;
  if (b && typeof b.error === "string") return b.error;
  if (b && b.detail !== undefined) return typeof b.detail === "string" ? b.detail : JSON.stringify(b.detail);
  return text.trim();
}
