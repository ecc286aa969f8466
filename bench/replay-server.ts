/**
 * A vLLM stand-in for the real-stage benches (issue 17), run in its own CHILD PROCESS so that the
 * bench process's CPU time (process.cpuUsage, which counts every thread of a process) is the client's
 * alone. It speaks what the labels stage asks of a vLLM server: GET /v1/models, POST /tokenize (with
 * the run's own tokenizer.json, so the stage's tokenizer check passes) and POST /v1/completions with
 * prompt_logprobs, answered with replay-bodies.ts's bodies in vLLM's released shape.
 *
 * Modes (startReplayServer options):
 * - `pregenerate`: a run folder whose blocks.jsonl / aligned.jsonl prompts get their bodies built
 *   before the server reports ready, so they are replayed instantly (as bytes, encoded once); any
 *   other prompt (the stage's probe) is built on first use and kept.
 * - `byLength`: a body per prompt LENGTH, built on first use and kept (the memory bench: bounded
 *   server memory at any corpus size; the rows do not depend on the tokens then).
 * - `delayMs` and `concurrency`: each answer waits delayMs, and at most `concurrency` requests are
 *   answered at once (the rest queue), as a GPU server with C slots would.
 * - `record`: keeps every completions body it sent, with its prompt, for GET /bench/log (the bench
 *   parses exactly the bytes the stage received).
 * Bench control: POST /bench/reset (forget the log and timings), GET /bench/log (a JSON header line
 * [{model, prompt, bytes}] then the bodies back to back), GET /bench/timings ([arrival, sent] in ms
 * per completions request, in arrival order).
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { completionBody, decodedTokens } from "./replay-bodies.js";

export interface ReplayServerOptions {
  /** The run folder: its tokenizer.json answers /tokenize. */
  runDir: string;
  tokenizerPath: string;
  /** prompt_logprobs the stage will ask for (pregenerate builds bodies for it). */
  k: number;
  pregenerate?: boolean;
  byLength?: boolean;
  delayMs?: number;
  concurrency?: number;
  record?: boolean;
  /** Ports to listen on (0 = any), one server per entry sharing nothing but the process. */
  servers?: number;
}

export interface ReplayServer {
  urls: string[];
  child: ChildProcess;
  close(): Promise<void>;
}

/** Starts the server in a child process (same Node, same loader flags as this one) and waits for it. */
export function startReplayServer(opts: ReplayServerOptions): Promise<ReplayServer> {
  const child = fork(fileURLToPath(import.meta.url), ["--serve", JSON.stringify(opts)], { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`replay server exited with ${code} before it was ready`)));
    child.once("message", (m: { ports: number[] }) => {
      child.removeAllListeners("exit");
      resolve({
        urls: m.ports.map((p) => `http://127.0.0.1:${p}`),
        child,
        close: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.kill();
          }),
      });
    });
  });
}

/** GET or POST to a bench control path; the body as bytes. */
export async function control(url: string, path: string, method = "GET"): Promise<Buffer> {
  const res = await fetch(url + path, { method });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

export interface ServedBody {
  model: string;
  prompt: number[];
  body: Buffer;
}

/** The completions bodies a server sent since its last reset, in order. */
export async function servedBodies(url: string): Promise<ServedBody[]> {
  const all = await control(url, "/bench/log");
  const nl = all.indexOf(10);
  const header = JSON.parse(all.subarray(0, nl).toString()) as { model: string; prompt: number[]; bytes: number }[];
  let at = nl + 1;
  return header.map((h) => {
    const body = all.subarray(at, at + h.bytes);
    at += h.bytes;
    return { model: h.model, prompt: h.prompt, body };
  });
}

export async function servedTimings(url: string): Promise<[number, number][]> {
  return JSON.parse((await control(url, "/bench/timings")).toString());
}

// ---------------------------------------------------------------- the child process

async function serve(opts: ReplayServerOptions): Promise<void> {
  const { ModelTokenizer } = await import("../pipeline/io/tokenizer.js");
  const { promptFor } = await import("../pipeline/models/vllm.js");
  const tokenizerJson = JSON.parse(readFileSync(opts.tokenizerPath, "utf8"));
  const decoded = decodedTokens(tokenizerJson);
  const V = decoded.length;
  const tok = await ModelTokenizer.load(opts.tokenizerPath);
  const bodies = new Map<string, Buffer>();
  const keyOf = (model: string, prompt: readonly number[], k: number) => (opts.byLength ? `${model}|${k}|${prompt.length}` : `${model}|${k}|${prompt.join(",")}`);
  const bodyFor = (model: string, prompt: readonly number[], k: number) => {
    const key = keyOf(model, prompt, k);
    let b = bodies.get(key);
    if (!b) bodies.set(key, (b = Buffer.from(completionBody(model, prompt, k, V, decoded))));
    return b;
  };
  if (opts.pregenerate) {
    const lines = (file: string) => readFileSync(join(opts.runDir, file), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    for (const b of lines("blocks.jsonl")) bodyFor("reinforced", promptFor(b.input_ids), opts.k);
    for (const a of lines("aligned.jsonl")) bodyFor("baseline", promptFor(a.translated_ids), opts.k);
  }
  const ports: number[] = [];
  for (let s = 0; s < (opts.servers ?? 1); s++) ports.push(await listen(opts, bodyFor, tok, V));
  process.send!({ ports });
}

type BodyFor = (model: string, prompt: readonly number[], k: number) => Buffer;

function listen(opts: ReplayServerOptions, bodyFor: BodyFor, tok: { info: { prefixSpecialIds: readonly number[] }; encodeIds(text: string): Promise<number[]> }, V: number): Promise<number> {
  const log: { model: string; prompt: number[]; body: Buffer }[] = [];
  const timings: [number, number][] = [];
  const slots = opts.concurrency ?? Infinity;
  let busy = 0;
  const waiting: (() => void)[] = [];
  const json = (res: ServerResponse, status: number, value: unknown) => {
    const b = Buffer.from(JSON.stringify(value));
    res.writeHead(status, { "content-type": "application/json", "content-length": b.length });
    res.end(b);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const path = (req.url ?? "").split("?")[0];
    if (path === "/v1/models") return json(res, 200, { object: "list", data: ["baseline", "reinforced"].map((id) => ({ id, object: "model", created: 0, owned_by: "vllm", root: id, parent: null, max_model_len: 1_048_576 })) });
    if (path === "/tokenize") {
      const body = JSON.parse(raw.toString()) as { prompt: string; add_special_tokens?: boolean };
      const tokens = [...(body.add_special_tokens === false ? [] : tok.info.prefixSpecialIds), ...(await tok.encodeIds(body.prompt))];
      return json(res, 200, { count: tokens.length, max_model_len: 1_048_576, tokens, token_strs: null });
    }
    if (path === "/bench/reset") {
      log.length = 0;
      timings.length = 0;
      return json(res, 200, { ok: true });
    }
    if (path === "/bench/timings") return json(res, 200, timings);
    if (path === "/bench/log") {
      const header = Buffer.from(JSON.stringify(log.map((l) => ({ model: l.model, prompt: l.prompt, bytes: l.body.length }))) + "\n");
      const all = Buffer.concat([header, ...log.map((l) => l.body)]);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": all.length });
      return res.end(all);
    }
    if (path !== "/v1/completions") return json(res, 404, { error: { message: `no route ${path}`, type: "NotFoundError", param: null, code: 404 } });
    const arrival = performance.now();
    const body = JSON.parse(raw.toString()) as { model: string; prompt: number[]; prompt_logprobs?: number };
    if (!Array.isArray(body.prompt) || !body.prompt.every((t) => Number.isInteger(t) && t >= 0 && t < V)) return json(res, 400, { error: { message: "prompt must be a list of token ids", type: "BadRequestError", param: null, code: 400 } });
    if (busy >= slots) await new Promise<void>((r) => waiting.push(r));
    busy++;
    try {
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      const out = bodyFor(body.model, body.prompt, Math.min(V, body.prompt_logprobs ?? 1));
      if (opts.record) log.push({ model: body.model, prompt: body.prompt, body: out });
      res.writeHead(200, { "content-type": "application/json", "content-length": out.length });
      res.end(out);
      timings.push([arrival, performance.now()]);
    } finally {
      busy--;
      waiting.shift()?.();
    }
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      handle(req, res, Buffer.concat(chunks)).catch((e: unknown) => json(res, 500, { error: { message: String(e), type: "InternalServerError", param: null, code: 500 } }));
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

if (process.argv[2] === "--serve" && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await serve(JSON.parse(process.argv[3]) as ReplayServerOptions);
}
