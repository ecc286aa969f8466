/**
 * Served-model benchmarks (issue #4), part of `npm run bench`; alone: `npx tsx bench/served.ts [blocks]`.
 * 1. The vLLM provider + combination over HTTP against a server (in a worker thread) that answers
 *    instantly with precomputed responses, next to the time Node needs just to JSON.parse the same
 *    responses. Target: within 2x of parse-only.
 * 2. Request rate through the labels stage's scheduler (processChunks: chunks of 8 blocks, both models
 *    at once) against a server that answers each request after a fixed delay, with C requests at once
 *    per model. Target: at least 90% of C / delay.
 * 3. Peak memory (RSS) of the client side, each corpus size in a fresh process (maxRSS is a lifetime
 *    peak), with responses generated on the fly by the server so nothing scales with the corpus but
 *    the work. Target: flat in corpus size, under 1 GB. WHP_BENCH_MEMORY_BLOCKS=a,b sets the sizes
 *    in blocks of 512 tokens (a corpus of 5 million tokens is 9766 blocks; the default sizes keep the
 *    whole bench near two minutes on 2 cores).
 */
import { spawnSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { mkdtemp, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { combineBlock } from "../pipeline/core/combine.js";
import { seededRandom } from "../pipeline/core/hash.js";
import { RowsCache } from "../pipeline/models/cache.js";
import { VllmSource, vllmModelSchema } from "../pipeline/models/vllm.js";
import { processChunks } from "../pipeline/stages/labels.js";

const V = 32_000;
const N = 512;
const K = 20;

/** A vLLM-shaped response for block b of n tokens (sent as n + 1: the block and the extra token):
 * random top-k rows for every prompt position; nothing in the generated token's list. */
function responseFor(b: number, n = N): string {
  const r = seededRandom(1000 + b);
  const prompt: unknown[] = [null];
  for (let j = 1; j <= n; j++) {
    const dict: Record<string, { logprob: number; rank: number; decoded_token: string }> = {};
    let v = -0.5 - r();
    for (let s = 0; s < K; ) {
      const id = Math.floor(r() * V);
      if (id in dict) continue;
      dict[id] = { logprob: v, rank: ++s, decoded_token: "x" };
      v -= r() * 0.7;
    }
    prompt.push(dict);
  }
  return JSON.stringify({ id: "c", object: "text_completion", created: 0, model: "m", choices: [{ index: 0, text: "", logprobs: null, finish_reason: "length", prompt_logprobs: prompt }] });
}

/** A full-row response (every vocabulary entry at every position, as vLLM writes prompt_logprobs: V),
 * built as text: millions of entries. Values are a random log-softmax per row. */
function fullResponseFor(b: number, n: number): string {
  const r = seededRandom(5000 + b);
  const rows = ["null"];
  const logits = new Float64Array(V);
  for (let j = 1; j <= n; j++) {
    let max = -Infinity;
    for (let t = 0; t < V; t++) max = Math.max(max, (logits[t] = r() * 12));
    let sum = 0;
    for (let t = 0; t < V; t++) sum += Math.exp(logits[t] - max);
    const lse = max + Math.log(sum);
    const order = Array.from({ length: V }, (_, t) => t).sort((x, y) => logits[y] - logits[x]);
    const parts = new Array<string>(V);
    for (let q = 0; q < V; q++) parts[q] = `"${order[q]}":{"logprob":${Math.fround(logits[order[q]] - lse)},"rank":${q + 1},"decoded_token":"x"}`;
    rows.push(`{${parts.join(",")}}`);
  }
  return `{"id":"c","object":"text_completion","created":0,"model":"m","choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"length","prompt_logprobs":[${rows.join(",")}]}]}`;
}

/** Serves body[prompt[1] % bodies] after `delayMs` (0 = at once), from its own thread; with no bodies,
 * generates each response from the prompt (a fresh 0.7 MB body per request, nothing kept). */
function startServer(bodies: string[], delayMs: number): Promise<{ url: string; worker: Worker }> {
  const code = `
    const { createServer } = require("node:http");
    const { workerData, parentPort } = require("node:worker_threads");
    // Buffers, encoded once: the server must cost as little as possible (it shares the 2 cores).
    const bodies = workerData.bodies.map((t) => Buffer.from(t));
    const { delayMs, V, K } = workerData;
    function generate(p) {
      let a = (p[1] * 2654435761) >>> 0;
      const r = () => { a = (a + 0x6d2b79f5) >>> 0; let t = Math.imul(a ^ (a >>> 15), 1 | a); t ^= t + Math.imul(t ^ (t >>> 7), 61 | t); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
      const rows = ["null"];
      for (let j = 1; j < p.length; j++) {
        const seen = new Set(); const parts = []; let v = -0.5 - r();
        while (parts.length < K) { const id = Math.floor(r() * V); if (seen.has(id)) continue; seen.add(id); parts.push('"' + id + '":{"logprob":' + v + ',"rank":' + (parts.length + 1) + ',"decoded_token":"x"}'); v -= r() * 0.7; }
        rows.push("{" + parts.join(",") + "}");
      }
      return Buffer.from('{"id":"c","object":"text_completion","created":0,"model":"m","choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"length","prompt_logprobs":[' + rows.join(",") + ']}]}');
    }
    const server = createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const p = JSON.parse(Buffer.concat(chunks).toString()).prompt;
        const body = bodies.length ? bodies[p[1] % bodies.length] : generate(p);
        const send = () => { res.writeHead(200, { "content-type": "application/json", "content-length": body.length }); res.end(body); };
        delayMs ? setTimeout(send, delayMs) : send();
      });
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));`;
  const worker = new Worker(code, { eval: true, workerData: { bodies, delayMs, V, K } });
  return new Promise((resolve) => worker.once("message", (port: number) => resolve({ url: `http://127.0.0.1:${port}`, worker })));
}

const blockTokens = (b: number, n = N) => Array.from({ length: n }, (_, i) => (i === 1 ? b : (b * 7919 + i * 104_729) % V));

function source(url: string, model: string, concurrency: number, cache?: RowsCache, k: number | "full" = K) {
  const spec = vllmModelSchema.parse({ provider: "vllm", model, urls: [url], concurrency, maxLogprobs: k === "full" ? -1 : K });
  return new VllmSource(spec, { vocabSize: V, role: model, cache });
}

/** The labels stage's per-block work: both models at once, then the combination. */
async function runBlocks(blocks: number, url: string, concurrency: number, cache?: RowsCache, k: number | "full" = K, n = N): Promise<number> {
  const base = source(url, "baseline", concurrency, cache, k);
  const reinf = source(url, "reinforced", concurrency, cache, k);
  const map = Int32Array.from({ length: n }, (_, i) => i);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let b = next++; b < blocks; b = next++) {
        const tokens = blockTokens(b, n);
        const [r, bl] = await Promise.all([reinf.rows(tokens, { topK: k }), base.rows(tokens, { topK: k })]);
        combineBlock({ reinforced: r, baseline: bl, map, forbidden: [], alphas: [5, 2.5, 10], logitSpace: "logprobs" });
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

const fmt = (x: number) => Math.round(x).toLocaleString("en-US");

/** 1. Parse-only vs the pipeline on the same responses, `rounds` times each, interleaved. */
async function benchThroughput(blocks: number, rounds: number): Promise<void> {
  const distinct = Math.min(blocks, 64);
  const bodies = Array.from({ length: distinct }, (_, b) => responseFor(b));
  const mb = bodies.reduce((s, x) => s + x.length, 0) / distinct / 1e6;
  const tokens = blocks * N * 2;
  const { url, worker } = await startServer(bodies, 0);
  await runBlocks(Math.min(blocks, 16), url, 8); // warm-up: JIT, connections
  const { parse, http, parseCpu, httpCpu, sink } = await parseVsServed(bodies, blocks, rounds, () => runBlocks(blocks, url, 8));
  await worker.terminate();
  const ratios = http.map((h, i) => h / parse[i]);
  console.log(`served (vLLM provider, issue #4): ${blocks} blocks x 2 models, ${mb.toFixed(2)} MB per response (top-${K}, V ${V}, ${N} tokens)${sink ? "" : "!"}`);
  console.log(`  JSON.parse only:        ${parse.map((s) => `${fmt(tokens / s)}`).join(" / ")} tokens/s`);
  console.log(`  provider+combine, HTTP: ${http.map((s) => `${fmt(tokens / s)}`).join(" / ")} tokens/s = ${ratios.map((r) => `${r.toFixed(2)}x`).join(" / ")} the parse-only time, CPU ${httpCpu.map((c, i) => `${(c / parseCpu[i]).toFixed(2)}x`).join(" / ")} (target <= 2x; server answers instantly, in a worker thread on the same 2 cores)`);
}

/** JSON.parse of every response vs the provider over HTTP on the same responses, interleaved rounds;
 * wall and CPU seconds (process CPU: the server's worker thread is in it too). */
async function parseVsServed(bodies: string[], blocks: number, rounds: number, served: () => Promise<number>) {
  const parse: number[] = [];
  const http: number[] = [];
  const parseCpu: number[] = [];
  const httpCpu: number[] = [];
  let sink = 0;
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  for (let round = 0; round < rounds; round++) {
    let c0 = cpu();
    const t0 = performance.now();
    for (let b = 0; b < blocks; b++) for (let m = 0; m < 2; m++) sink += (JSON.parse(bodies[b % bodies.length]) as { choices: unknown[] }).choices.length;
    parse.push((performance.now() - t0) / 1000);
    parseCpu.push(cpu() - c0);
    c0 = cpu();
    http.push(await served());
    httpCpu.push(cpu() - c0);
  }
  return { parse, http, parseCpu, httpCpu, sink };
}

/** 1b. The same for full rows (logits.topK: full, every row from the prompt path): a short block, since
 * each position is a whole 32k vocabulary of JSON. */
async function benchFullRows(blocks = 4, n = 32, rounds = 2): Promise<void> {
  const bodies = Array.from({ length: 2 }, (_, b) => fullResponseFor(b, n));
  const mb = bodies.reduce((s, x) => s + x.length, 0) / bodies.length / 1e6;
  const tokens = blocks * n * 2;
  const { url, worker } = await startServer(bodies, 0);
  await runBlocks(1, url, 2, undefined, "full", n); // warm-up
  const { parse, http, parseCpu, httpCpu } = await parseVsServed(bodies, blocks, rounds, () => runBlocks(blocks, url, 2, undefined, "full", n));
  await worker.terminate();
  console.log(`  full rows (topK full, V ${V}, ${n} tokens, ${mb.toFixed(0)} MB per response, ${blocks} blocks x 2 models): JSON.parse only ${parse.map((s) => fmt(tokens / s)).join(" / ")} tokens/s; provider+combine, HTTP ${http.map((s) => fmt(tokens / s)).join(" / ")} tokens/s = ${http.map((h, i) => `${(h / parse[i]).toFixed(2)}x`).join(" / ")} the parse-only time, CPU ${httpCpu.map((c, i) => `${(c / parseCpu[i]).toFixed(2)}x`).join(" / ")} (target <= 2x)`);
}

/** 2. Request rate through the labels stage's scheduler, fixed server delay, C per model. What bounds
 * it on a small machine is the client's CPU per request (fetch/undici ~1 ms, the openai client
 * ~0.5 ms, scanning ~0.2 ms on this 2-core box): a fixed delay returns responses in bunches, and the
 * last of a bunch waits for the others to be handled. */
async function benchRequestRate(): Promise<void> {
  const n = 16; // short prompts: the delay, not parsing, must set the pace
  const small = [responseFor(0, n)];
  const delayMs = 100;
  const C = 16;
  const blocks = 480; // 30 rounds of C after the warm-up: the steady state, not the first connections
  const chunkBlocks = 8; // the config default
  // One server per model, as in a real run (the stage asks both models at once): each sees C at once.
  const servers = [await startServer(small, delayMs), await startServer(small, delayMs)];
  const base = source(servers[0].url, "baseline", C);
  const reinf = source(servers[1].url, "reinforced", C);
  const run = async (count: number) => {
    const chunks = Math.ceil(count / chunkBlocks);
    // blocks in flight as the stage sets them: the larger pool's capacity
    await processChunks(Array.from({ length: chunks }, (_, c) => c), Math.max(base.capacity, reinf.capacity), chunkBlocks, async (c, limit) => {
      await Promise.all(
        Array.from({ length: Math.min(chunkBlocks, count - c * chunkBlocks) }, (_, j) =>
          limit(async () => {
            const tokens = blockTokens(c * chunkBlocks + j, n);
            await Promise.all([reinf.rows(tokens, { topK: K }), base.rows(tokens, { topK: K })]);
          }),
        ),
      );
    });
  };
  await run(4 * C); // warm the connections and the JIT
  const t0 = performance.now();
  await run(blocks);
  const s = (performance.now() - t0) / 1000;
  for (const x of servers) await x.worker.terminate();
  const rate = blocks / s; // requests per second per model
  console.log(`  request rate, labels scheduler, server delay ${delayMs} ms, C = ${C} per model, both models: ${rate.toFixed(1)} req/s per model = ${((100 * rate * delayMs) / 1000 / C).toFixed(1)}% of C/delay (target >= 90%)`);
}

/** 3. (child process) streams `blocks` generated responses per model through provider, cache and
 * combination; prints the process's peak RSS in MB. */
async function memoryChild(blocks: number): Promise<void> {
  const { url, worker } = await startServer([], 0);
  const dir = await mkdtemp(join(tmpdir(), "whp-bench-cache-"));
  try {
    await runBlocks(blocks, url, 8, new RowsCache(dir));
  } finally {
    await worker.terminate();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

async function benchMemory(): Promise<void> {
  const sizes = (process.env.WHP_BENCH_MEMORY_BLOCKS ?? "60,240").split(",").map(Number);
  const out: string[] = [];
  for (const n of sizes) {
    const t0 = performance.now();
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--memory", String(n)], { encoding: "utf8" });
    const line = child.stdout.trim().split("\n").pop() ?? "";
    if (child.status !== 0 || !line.startsWith("{")) throw new Error(`memory bench child failed: ${child.stderr.slice(-500)}`);
    out.push(`${fmt(n * N)} tokens: ${Math.round(JSON.parse(line).maxRssMb)} MB (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  console.log(`  peak RSS, client side (provider + cache + combination), responses generated on the fly, per corpus size: ${out.join("; ")} (target: flat, < 1 GB)`);
}

export async function benchServed(blocks = 200, rounds = 2): Promise<void> {
  await benchThroughput(blocks, rounds);
  await benchFullRows();
  await benchRequestRate();
  await benchMemory();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === "--memory") await memoryChild(Number(process.argv[3]));
  else await benchServed(Number(process.argv[2] ?? 200));
}
