/**
 * A reference model server for tests and demos (node:http, no dependencies): speaks the subset of the
 * vLLM OpenAI-compatible protocol and of SGLang's native protocol that the vllm and sglang providers
 * use, answering from in-process logit sources (the embedded n-grams). With it the whole pipeline runs
 * over real HTTP with the real clients. Faults can be injected per request for failure tests.
 *
 * vLLM subset: GET /v1/models, POST /tokenize, POST /v1/completions (token-id prompt, prompt_logprobs,
 * logprobs, return_tokens_as_token_ids, max_tokens >= 1). SGLang subset: GET /get_server_info and
 * /server_info, GET /get_model_info, POST /generate (input_ids or text, return_logprob,
 * logprob_start_len 0, top_logprobs_num), POST /tokenize (newer SGLang has one).
 *
 * It answers in the shapes the released servers write (checked against vLLM's
 * entrypoints/openai/serving_completion.py and protocol.py, SGLang's http_server.py; see the README's
 * "Model servers" section): a prompt_logprobs entry lists the top k plus the actual prompt token with
 * its true rank (k or k + 1 items, each {logprob, rank, decoded_token}), -inf written -9999.0; the
 * generated token's top list is [{}] for logprobs: -1; an unknown model is a 404 NotFoundError;
 * SGLang reports context_length null with the scheduler's max_req_input_len, tuples (logprob, id,
 * text), -inf as null. Switches reproduce older servers: vLLM's pre-0.10.1 flat error bodies,
 * SGLang's id clip in input_token_logprobs, SGLang's 500 on -inf (plain JSON), and stale prompt
 * log-probs from prefix caching (vLLM issue #42019).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LogitSource, Rows } from "../core/rows.js";

/** What the server needs from a model: its rows, and optionally the log-prob of any one token (to
 * list the prompt's actual token when it is outside the top k, as vLLM does). */
export interface ServedModel {
  source: LogitSource;
  logProb?(history: readonly number[], token: number): number;
}

export interface ServerTokenizer {
  /** Ids for `text` with the special tokens a model's tokenizer adds (BOS). */
  encodeWithSpecial(text: string): Promise<number[]>;
  /** Text of generated ids; without it completions answer with empty text. */
  decode?(ids: readonly number[]): Promise<string>;
}

/** One injected fault; `undefined` = answer normally. */
export type Fault =
  | { kind: "status"; status: number; retryAfter?: string; body?: string }
  | { kind: "drop-mid-body" }
  | { kind: "delay"; ms: number }
  | { kind: "malformed" }
  | { kind: "wrong-positions" };

export interface RequestInfo {
  path: string;
  /** 1-based count of requests to this path so far, this one included. */
  count: number;
}

export interface ReferenceServerOptions {
  models: Record<string, ServedModel>;
  tokenizer?: ServerTokenizer;
  /** vLLM's --max-logprobs. */
  maxLogprobs?: number;
  /** vLLM's --max-model-len. */
  maxModelLen?: number;
  /** The model /generate (SGLang) answers for; default: the first one. */
  sglangModel?: string;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Added before every model answer (for throughput tests). */
  delayMs?: number;
  faults?: (req: RequestInfo) => Fault | undefined;
  /** "flat": vLLM 0.6 to 0.10.0's {"object": "error", "message", "type", "param", "code"}; default
   * "nested", 0.10.1+'s {"error": {...}}. */
  errorShape?: "nested" | "flat";
  /** SGLang's context_length in /get_server_info: null (its default launch) unless set. */
  sglangContextLength?: number | null;
  /** SGLang's reported version (in /get_server_info). */
  sglangVersion?: string;
  /** SGLang reports prompt ids >= vocab_size - 1 as 0 in input_token_logprobs (it clips padded ids). */
  sglangClip?: boolean;
  /** Old SGLang (plain JSON responses): a -inf value makes /generate answer 500 instead of null. */
  sglangPlainJson?: boolean;
  /** vLLM issue #42019: prompt log-probs of positions served from the prefix cache come from the
   * last request computed there. */
  stalePrefixCache?: boolean;
  /** Added to every prompt_logprobs value: rows that are raw logits, not log-probs (vLLM's Model
   * Runner V2 honours --logprobs-mode raw_logits on the prompt path; V1 always log-softmaxes). */
  promptLogitsShift?: number;
  /** Called with every request's path and parsed JSON body (tests check what clients send). */
  onRequest?: (path: string, body: unknown) => void;
  host?: string;
  port?: number;
}

export interface ReferenceServer {
  url: string;
  server: Server;
  stats: { requests: Record<string, number>; active: number; maxActive: number };
  close(): Promise<void>;
}

const MINUS_INF = -9999; // vLLM's JSON stand-in for -inf

class BadRequest extends Error {}

/** A response body produced piece by piece (sent with chunked encoding, backpressure respected). */
class StreamedJson {
  constructor(readonly pieces: AsyncIterable<string>) {}
  async text(): Promise<string> {
    let t = "";
    for await (const p of this.pieces) t += p;
    return t;
  }
}
class NotFound extends Error {}
class PlainJsonInfinity extends Error {}

const toJsonNumber = (v: number) => (v === -Infinity ? MINUS_INF : v);

/** A placeholder the hand-written prompt_logprobs replace in the response's JSON. */
const PROMPT_LOGPROBS = "@@whp-prompt-logprobs@@";

/** One prompt_logprobs entry as vLLM writes it (a Logprob dataclass: logprob, rank, decoded_token). */
function entryJson(id: number, value: number, rank: number, asIds: boolean): string {
  return `"${id}":{"logprob":${JSON.stringify(toJsonNumber(value))},"rank":${rank},"decoded_token":${asIds ? `"token_id:${id}"` : "null"}}`;
}

/** Per row: [ids, values] best first. */
function rowEntries(rows: Rows, i: number): { ids: number[]; values: number[] } {
  if (rows.kind === "full") {
    const V = rows.vocabSize;
    const ids = Array.from({ length: V }, (_, t) => t);
    const values = Array.from(rows.values.subarray(i * V, (i + 1) * V));
    ids.sort((a, b) => values[b] - values[a] || a - b);
    return { ids, values: ids.map((t) => values[t]) };
  }
  const s = rows.offsets[i];
  const e = rows.offsets[i + 1];
  return { ids: Array.from(rows.ids.subarray(s, e)), values: Array.from(rows.values.subarray(s, e)) };
}

async function modelRows(m: ServedModel, tokens: number[], k: number): Promise<Rows> {
  return m.source.rows(tokens, { topK: k === -1 ? "full" : k });
}

/** Greedy continuation (the best-listed token each step, as temperature 0 does), starting from the
 * prompt's last row, which the caller already has. */
async function greedy(m: ServedModel, tokens: readonly number[], first: number, maxTokens: number): Promise<number[]> {
  const out = [first];
  const seq = [...tokens, first];
  while (out.length < maxTokens) {
    const rows = await modelRows(m, seq, 1);
    const next = rowEntries(rows, seq.length - 1).ids[0];
    out.push(next);
    seq.push(next);
  }
  return out;
}

export async function startReferenceServer(opts: ReferenceServerOptions): Promise<ReferenceServer> {
  const names = Object.keys(opts.models);
  if (names.length === 0) throw new Error("the reference server needs at least one model");
  const maxLogprobs = opts.maxLogprobs ?? 20;
  const maxModelLen = opts.maxModelLen ?? 4096;
  const stats = { requests: {} as Record<string, number>, active: 0, maxActive: 0 };

  const model = (name: unknown): ServedModel => {
    const m = typeof name === "string" ? opts.models[name] : undefined;
    // vLLM: 404 NotFoundError (serving_engine.py _check_model).
    if (!m) throw new NotFound(`The model \`${String(name)}\` does not exist.`);
    return m;
  };
  const checkTokens = (m: ServedModel, ids: unknown, generated = 1): number[] => {
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((t) => Number.isInteger(t) && t >= 0 && t < m.source.vocabSize)) throw new BadRequest("prompt must be a non-empty list of valid token ids");
    if (ids.length + generated > maxModelLen) throw new BadRequest(`This model's maximum context length is ${maxModelLen} tokens. However, you requested ${ids.length + generated} tokens (${ids.length} in the messages, ${generated} in the completion). Please reduce the length of the messages or completion.`);
    return ids as number[];
  };
  // Earlier prompts and the JSON of their prompt_logprobs rows, for the stale prefix cache.
  const cachedPrompts: { tokens: number[]; rows: string[] }[] = [];
  const checkK = (k: unknown, what: string): number => {
    if (!Number.isInteger(k) || (k as number) < -1 || k === 0) throw new BadRequest(`${what} must be a positive integer or -1`);
    if (maxLogprobs !== -1 && ((k as number) === -1 || (k as number) > maxLogprobs)) throw new BadRequest(`Requested ${what} of ${k}, which is greater than max allowed: ${maxLogprobs}`);
    return k as number;
  };

  async function completions(body: Record<string, unknown>, fault?: Fault): Promise<StreamedJson> {
    const m = model(body.model);
    if (!(Number.isInteger(body.max_tokens) && (body.max_tokens as number) >= 1)) throw new BadRequest("max_tokens must be at least 1");
    const maxTokens = body.max_tokens as number;
    const tokens = checkTokens(m, body.prompt, maxTokens);
    const pk = body.prompt_logprobs === undefined || body.prompt_logprobs === null ? undefined : checkK(body.prompt_logprobs, "prompt logprobs");
    const lk = body.logprobs === undefined || body.logprobs === null ? undefined : checkK(body.logprobs, "logprobs");
    const V = m.source.vocabSize;
    const k = Math.min(V, Math.max(pk ?? 1, lk ?? 1, pk === -1 || lk === -1 ? V : 0));
    const rows = await modelRows(m, tokens, k >= V ? -1 : k);
    const n = tokens.length;
    const asIds = body.return_tokens_as_token_ids === true;
    const name = (t: number) => (asIds ? `token_id:${t}` : String(t));
    let rowsOut: { count: number; row: (i: number) => Promise<string> } | undefined;
    const shift = opts.promptLogitsShift ?? 0;
    if (pk !== undefined) {
      const take = pk === -1 ? V : Math.min(pk, V);
      // The actual token's true rank as vLLM V1 counts it (batched_count_greater_than in
      // v1/sample/ops/logprobs.py: the tokens valued >= it, itself included), from the full rows,
      // computed only when some actual token is outside the top k.
      let full: Rows | undefined;
      const rankOf = async (i: number, token: number) => {
        full ??= take >= V ? rows : await modelRows(m, tokens, -1);
        const { ids, values } = rowEntries(full, i);
        const own = values[ids.indexOf(token)];
        let atLeast = 0;
        for (const v of values) if (v >= own) atLeast++;
        return atLeast;
      };
      const upto = fault?.kind === "wrong-positions" ? n - 2 : n - 1;
      const rowJson = async (i: number) => {
        const { ids, values } = rowEntries(rows, i);
        const top = Math.min(take, ids.length);
        const actual = tokens[i + 1];
        // vLLM builds the dict from [actual token] + top k: the actual token's key comes first, and
        // when it is in the top k its value and rank are the top-k entry's (written later).
        const at = ids.slice(0, top).indexOf(actual);
        const parts: string[] = [];
        if (at >= 0) parts.push(entryJson(actual, values[at] + shift, at + 1, asIds));
        else if (m.logProb) {
          const v = Math.fround(m.logProb(tokens.slice(0, i + 1), actual));
          parts.push(entryJson(actual, v + shift, await rankOf(i, actual), asIds));
        }
        for (let j = 0; j < top; j++) if (j !== at) parts.push(entryJson(ids[j], values[j] + shift, j + 1, asIds));
        return `{${parts.join(",")}}`;
      };
      if (opts.stalePrefixCache) {
        const out: string[] = ["null"];
        for (let i = 0; i < upto; i++) out.push(await rowJson(i));
        staleRows(tokens, out);
        rowsOut = { count: upto, row: async (i) => out[i + 1] };
      } else rowsOut = { count: upto, row: rowJson };
    }
    const last = rowEntries(rows, n - 1);
    const next = last.ids[0];
    const text = opts.tokenizer?.decode ? await opts.tokenizer.decode(await greedy(m, tokens, next, maxTokens)) : "";
    let logprobs: unknown = null;
    if (lk !== undefined) {
      // vLLM builds the generated token's top list from `logprobs`; -1 came back as [{}].
      const top: Record<string, number> = {};
      if (lk !== -1) for (let j = 0; j < Math.min(lk, last.ids.length); j++) top[name(last.ids[j])] = toJsonNumber(last.values[j]);
      logprobs = { text_offset: [0], token_logprobs: [toJsonNumber(last.values[0])], tokens: [name(next)], top_logprobs: [top] };
    }
    const response = {
      id: `cmpl-ref-${stats.requests["/v1/completions"]}`,
      object: "text_completion",
      created: 0,
      model: body.model,
      choices: [{ index: 0, text, logprobs, finish_reason: "length", stop_reason: null, prompt_logprobs: PROMPT_LOGPROBS }],
      usage: { prompt_tokens: n, completion_tokens: maxTokens, total_tokens: n + maxTokens },
    };
    // Written by hand, row by row as it is sent: full rows are millions of entries, too many for
    // objects and JSON.stringify, and a 512-token block's JSON is longer than V8's longest string.
    const [head, tail] = JSON.stringify(response).split(`"${PROMPT_LOGPROBS}"`);
    const r = rowsOut;
    return new StreamedJson(
      (async function* () {
        yield head;
        if (!r) yield "null";
        else {
          yield "[null";
          for (let i = 0; i < r.count; i++) yield `,${await r.row(i)}`;
          yield "]";
        }
        yield tail;
      })(),
    );
  }

  /** vLLM issue #42019, emulated: positions whose context is in the prefix cache (the longest prefix
   * shared with an earlier prompt, the last token always recomputed) get the rows the cache entry was
   * last computed with. */
  function staleRows(tokens: number[], out: string[]): void {
    let best: { tokens: number[]; rows: string[] } | undefined;
    let hit = 0;
    for (const c of cachedPrompts) {
      let p = 0;
      while (p < c.tokens.length && p < tokens.length - 1 && c.tokens[p] === tokens[p]) p++;
      if (p > hit) [hit, best] = [p, c];
    }
    const fresh = out.slice();
    // Position j (1-based) is predicted from tokens 0..j-1: cached when j <= hit.
    if (best) for (let j = 1; j <= hit && j < out.length && j < best.rows.length; j++) out[j] = best.rows[j];
    if (best) best.rows = fresh; // the cache blocks now hold this request's computation
    cachedPrompts.push({ tokens: tokens.slice(), rows: fresh });
  }

  async function generate(body: Record<string, unknown>, fault?: Fault): Promise<unknown> {
    // SGLang serves one model and ignores `model`.
    const m = model(opts.sglangModel ?? names[0]);
    let tokens: number[];
    if (typeof body.text === "string") {
      if (!opts.tokenizer) throw new BadRequest("this server has no tokenizer: send input_ids");
      tokens = await opts.tokenizer.encodeWithSpecial(body.text);
    } else tokens = checkTokens(m, body.input_ids);
    const sampling = (body.sampling_params ?? {}) as { max_new_tokens?: unknown };
    const maxNew = sampling.max_new_tokens === undefined ? 1 : sampling.max_new_tokens;
    if (!(Number.isInteger(maxNew) && (maxNew as number) >= 1)) throw new BadRequest("sampling_params.max_new_tokens must be at least 1");
    if (body.return_logprob !== true) {
      const first = rowEntries(await modelRows(m, tokens, 1), tokens.length - 1).ids[0];
      const text = opts.tokenizer?.decode ? await opts.tokenizer.decode(await greedy(m, tokens, first, maxNew as number)) : "";
      return { text, meta_info: { prompt_tokens: tokens.length, completion_tokens: maxNew } };
    }
    if (body.logprob_start_len !== 0) throw new BadRequest("this reference server supports logprob_start_len 0 only");
    const num = body.top_logprobs_num === undefined ? 0 : (body.top_logprobs_num as number);
    if (!Number.isInteger(num) || num < 0) throw new BadRequest("top_logprobs_num must be a non-negative integer");
    // 0 (SGLang's default) lists no top tokens; the rows still give the generated token.
    const rows = await modelRows(m, tokens, Math.max(1, num));
    const n = tokens.length;
    const V = m.source.vocabSize;
    // Tuples (logprob, token id, text); text is null unless return_text_in_logprobs.
    const triples = (i: number) => {
      const { ids, values } = rowEntries(rows, i);
      return ids.slice(0, num).map((t, j) => [values[j], t, null]);
    };
    const inputTop: unknown[] = [null];
    const upto = fault?.kind === "wrong-positions" ? n - 2 : n - 1;
    for (let i = 0; i < upto; i++) inputTop.push(triples(i));
    // SGLang clips ids >= vocab_size - 1 to 0 here (padded ids), when the switch is on.
    const reported = (t: number) => (opts.sglangClip && t >= V - 1 ? 0 : t);
    const tokenLp = tokens.map((t, i) => [i === 0 ? null : m.logProb ? m.logProb(tokens.slice(0, i), t) : null, reported(t), null]);
    const out = triples(n - 1);
    const last = rowEntries(rows, n - 1);
    const meta = {
      prompt_tokens: n,
      completion_tokens: 1,
      input_token_logprobs: tokenLp,
      input_top_logprobs: inputTop,
      output_token_logprobs: [[last.values[0], last.ids[0], null]],
      output_top_logprobs: [out],
    };
    // orjson writes -inf as null (JSON.stringify does the same); plain JSON raised, and FastAPI
    // answered 500 "Internal Server Error".
    if (opts.sglangPlainJson && JSON.stringify(meta, (_k, v) => (v === -Infinity ? "-inf" : v)).includes('"-inf"')) throw new PlainJsonInfinity();
    return { text: "", meta_info: meta };
  }

  async function route(req: IncomingMessage, path: string, body: Record<string, unknown>, fault?: Fault): Promise<unknown> {
    if (req.method === "GET" && path === "/v1/models") {
      return { object: "list", data: names.map((id) => ({ id, object: "model", created: 0, owned_by: "whp-reference", max_model_len: maxModelLen })) };
    }
    if (req.method === "GET" && (path === "/get_server_info" || path === "/server_info")) {
      // SGLang (http_server.py server_info) merges its ServerArgs (context_length: null unless
      // --context-length), the scheduler's info (max_total_num_tokens, max_req_input_len) at the top
      // level, internal_states and its version.
      return { model_path: opts.sglangModel ?? names[0], context_length: opts.sglangContextLength ?? null, max_top_logprobs_num: maxLogprobs, max_total_num_tokens: maxModelLen * 8, max_req_input_len: maxModelLen - 1, internal_states: [{ last_gen_throughput: 0 }], version: opts.sglangVersion ?? "0.4.6" };
    }
    if (req.method === "GET" && path === "/get_model_info") return { model_path: opts.sglangModel ?? names[0], tokenizer_path: opts.sglangModel ?? names[0], is_generation: true };
    if (req.method !== "POST") return undefined;
    // vLLM serves /tokenize; newer SGLang /v1/tokenize, with the same request and answer fields.
    if (path === "/tokenize" || path === "/v1/tokenize") {
      if (!opts.tokenizer) throw new BadRequest("this server has no tokenizer");
      model(body.model ?? names[0]);
      if (typeof body.prompt !== "string") throw new BadRequest("prompt must be a string");
      const tokens = await opts.tokenizer.encodeWithSpecial(body.prompt);
      return { count: tokens.length, max_model_len: maxModelLen, tokens };
    }
    if (path === "/v1/completions") return completions(body, fault);
    if (path === "/generate") return generate(body, fault);
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    const count = (stats.requests[path] = (stats.requests[path] ?? 0) + 1);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) return send(res, 401, errorBody("Unauthorized", "Unauthorized", 401, opts.errorShape));
    const fault = opts.faults?.({ path, count });
    if (fault?.kind === "status") {
      res.writeHead(fault.status, { "content-type": "application/json", ...(fault.retryAfter ? { "retry-after": fault.retryAfter } : {}) });
      res.end(fault.body ?? JSON.stringify(errorBody(`injected ${fault.status}`, "InjectedError", fault.status, opts.errorShape)));
      return;
    }
    if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    let body: Record<string, unknown> = {};
    try {
      if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      opts.onRequest?.(path, body);
      const out = await route(req, path, body, fault);
      if (out === undefined) return send(res, 404, { detail: "Not Found" });
      if (out instanceof StreamedJson && fault?.kind !== "malformed" && fault?.kind !== "drop-mid-body") return sendStreamed(res, out);
      const text = out instanceof StreamedJson ? await out.text() : typeof out === "string" ? out : JSON.stringify(out);
      if (fault?.kind === "malformed") return sendText(res, 200, text.slice(0, text.length >> 1).replace(/.$/, "}"));
      if (fault?.kind === "drop-mid-body") {
        // Promise a full body, send half, then cut the connection.
        res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
        res.write(text.slice(0, text.length >> 1));
        setTimeout(() => res.socket?.destroy(), 5);
        return;
      }
      sendText(res, 200, text);
    } catch (e) {
      if (e instanceof BadRequest || e instanceof SyntaxError) return send(res, 400, errorBody(e.message, "BadRequestError", 400, opts.errorShape));
      if (e instanceof NotFound) return send(res, 404, errorBody(e.message, "NotFoundError", 404, opts.errorShape));
      if (e instanceof PlainJsonInfinity) return sendText(res, 500, "Internal Server Error", "text/plain; charset=utf-8");
      send(res, 500, errorBody(String((e as Error).message), "InternalServerError", 500, opts.errorShape));
    }
  }

  const server = createServer((req, res) => {
    stats.active++;
    stats.maxActive = Math.max(stats.maxActive, stats.active);
    res.on("close", () => stats.active--);
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? "127.0.0.1"}:${port}`,
    server,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** vLLM's error bodies (ErrorResponse in entrypoints/openai/protocol.py): {"error": {message, type,
 * param, code}} since 0.10.1, flat {"object": "error", message, type, param, code} before. */
function errorBody(message: string, type: string, code: number, shape: "nested" | "flat" = "nested") {
  return shape === "flat" ? { object: "error", message, type, param: null, code } : { error: { message, type, param: null, code } };
}

/** Sends a streamed body: headers once the first piece is ready (a refusal before it is still a
 * plain error answer), then every piece, waiting for the socket to drain. */
async function sendStreamed(res: ServerResponse, body: StreamedJson): Promise<void> {
  const it = body.pieces[Symbol.asyncIterator]();
  let next = await it.next();
  res.writeHead(200, { "content-type": "application/json" });
  while (!next.done) {
    if (!res.write(next.value)) await new Promise((r) => res.once("drain", r));
    next = await it.next();
  }
  res.end();
}

function send(res: ServerResponse, status: number, value: unknown): void {
  sendText(res, status, JSON.stringify(value));
}

function sendText(res: ServerResponse, status: number, text: string, type = "application/json"): void {
  res.writeHead(status, { "content-type": type, "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}
