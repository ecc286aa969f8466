/**
 * A minimal `fetch` over node:http(s) with a keep-alive agent, handed to the openai client (its
 * `fetch` option) for model servers. Why: Node's built-in fetch (undici + WHATWG streams) cost ~1 ms
 * of CPU per request on a 2-core machine, more than scanning a 0.7 MB response; with C requests
 * returning together from a server, that CPU time is what kept the request rate below C / delay.
 *
 * It buffers the whole body before resolving (model responses are read whole anyway), so the caller's
 * abort signal covers headers and body alike. Failures look like fetch's: an abort rejects with an
 * AbortError, a dropped connection with a TypeError, which the openai client turns into
 * APIUserAbortError / APIConnectionError as usual (retried in http-retry.ts).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const NULL_BODY = new Set([101, 204, 205, 304]);

/** Takes a 2xx response body chunk by chunk (passed as `bodySink` in the fetch init, e.g. through the
 * openai client's `fetchOptions`): the Response then has an empty body. A push that throws stops the
 * reading; the error is left in `error` for the caller. */
export interface BodySink {
  push(chunk: Uint8Array): void;
  error?: unknown;
}

/** Largest Content-Length allocated up front (a lying header must not allocate terabytes). */
const MAX_PREALLOCATED = 4 * 1024 ** 3;

/** The bytes behind each Response nodeFetch made, so readers need not copy them (responseBytes). */
const BODIES = new WeakMap<Response, Buffer>();

/** A response's body bytes: without a copy when nodeFetch made the response, else read once. The
 * body must not have been read otherwise. */
export async function responseBytes(res: Response): Promise<Uint8Array> {
  const known = BODIES.get(res);
  return known ?? new Uint8Array(await res.arrayBuffer());
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as Error | undefined;
  if (reason instanceof Error && reason.name === "AbortError") return reason;
  const e = new Error("This operation was aborted");
  e.name = "AbortError";
  return e;
}

/** A fetch whose connections (at most `maxSockets` per origin, kept alive) belong to one endpoint. */
export function nodeFetch(maxSockets: number): FetchLike {
  const agents = { http: new HttpAgent({ keepAlive: true, maxSockets }), https: new HttpsAgent({ keepAlive: true, maxSockets }) };
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
      const signal = init.signal ?? undefined;
      const sink = (init as { bodySink?: BodySink }).bodySink;
      if (signal?.aborted) return reject(abortError(signal));
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => (headers[k] = v));
      let body: Buffer | undefined;
      if (init.body !== undefined && init.body !== null) {
        if (typeof init.body === "string") body = Buffer.from(init.body);
        else if (init.body instanceof Uint8Array) body = Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength);
        else return reject(new TypeError("nodeFetch: only string or byte bodies are supported"));
        headers["content-length"] = String(body.length);
      }
      const https = url.protocol === "https:";
      const req = (https ? httpsRequest : httpRequest)(url, { method: init.method ?? "GET", headers, agent: https ? agents.https : agents.http });
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        req.destroy();
        reject(err);
      };
      const onAbort = () => fail(abortError(signal!));
      signal?.addEventListener("abort", onAbort, { once: true });
      req.setNoDelay(true);
      req.on("error", (e) => fail(Object.assign(new TypeError("fetch failed"), { cause: e })));
      req.on("response", (res: IncomingMessage) => {
        // The body goes straight into one buffer of the announced length (servers send Content-Length):
        // a full-row response is about a gigabyte, and chunks + their concatenation + a copy for
        // arrayBuffer() held it three times over.
        // A sink (see BodySink) takes a 2xx body chunk by chunk instead: nothing is buffered here.
        const streaming = sink !== undefined && (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
        const announced = Number(res.headers["content-length"]);
        let whole = !streaming && Number.isSafeInteger(announced) && announced >= 0 && announced <= MAX_PREALLOCATED ? Buffer.allocUnsafe(announced) : undefined;
        let filled = 0;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          if (streaming) {
            if (sink.error !== undefined) return;
            try {
              sink.push(c);
            } catch (e) {
              // The body cannot be rows: stop reading it; the caller finds sink.error.
              sink.error = e;
              res.destroy();
            }
          } else if (whole && filled + c.length <= whole.length) {
            c.copy(whole, filled);
            filled += c.length;
          } else {
            if (whole) chunks.push(whole.subarray(0, filled)); // longer than announced: fall back to chunks
            whole = undefined;
            chunks.push(c);
          }
        });
        // After a sink refused the body, the connection is cut on purpose: answer with an empty
        // response (the caller reads sink.error), not with a dropped-connection error.
        const cut = (err: Error) => {
          if (!(streaming && sink.error !== undefined)) return fail(err);
          if (settled) return;
          settled = true;
          signal?.removeEventListener("abort", onAbort);
          resolve(new Response(null, { status: res.statusCode ?? 200 }));
        };
        res.on("error", (e) => cut(Object.assign(new TypeError("terminated"), { cause: e })));
        res.on("aborted", () => cut(new TypeError("terminated")));
        res.on("close", () => {
          if (!res.complete) cut(new TypeError("terminated"));
        });
        res.on("end", () => {
          if (settled) return;
          if (!res.complete) return fail(new TypeError("terminated"));
          settled = true;
          signal?.removeEventListener("abort", onAbort);
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) for (const x of v) h.append(k, x);
            else if (v !== undefined) h.set(k, v);
          }
          const status = res.statusCode ?? 0;
          const bytes = streaming ? Buffer.alloc(0) : whole && filled === whole.length ? whole : Buffer.concat(whole ? [whole.subarray(0, filled)] : chunks);
          const response = new Response(NULL_BODY.has(status) ? null : bytes, { status, statusText: res.statusMessage ?? "", headers: h });
          BODIES.set(response, bytes);
          resolve(response);
        });
      });
      req.end(body);
    });
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

/** Wraps a fetch so that error bodies in vLLM's pre-0.10.1 flat shape reach the openai client in the
 * nested shape it reads: openai-node takes the message from body.error only, and printed "400 status
 * code (no body)" for the flat shape, hiding the server's reason (and the hints whp derives from it). */
export function nestFlatErrors(fetch: FetchLike): FetchLike {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (res.ok) return res;
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const flat = body as { object?: unknown; message?: unknown; error?: unknown } | undefined;
    const nested = flat && typeof flat === "object" && flat.error === undefined && typeof flat.message === "string" ? JSON.stringify({ error: flat }) : text;
    return new Response(NULL_BODY.has(res.status) ? null : nested, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
