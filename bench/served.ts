/**
 * Served-model benchmarks (issue #4), run with `npx tsx bench/served.ts [blocks]`:
 * 1. The vLLM provider + combination over HTTP against a server (in a worker thread) that answers
 *    instantly with precomputed responses, next to the time Node needs just to JSON.parse the same
 *    responses. Target: within 2x of parse-only.
 * 2. Request rate against a server that answers each request after a fixed delay, with the client
 *    allowed C requests at once. Target: at least 90% of C / delay.
 * 3. Peak memory (RSS) of the client side while streaming responses, at two corpus sizes (flat = the
 *    same peak for both).
 */
import { Worker } from "node:worker_threads";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { combineBlock } from "../pipeline/core/combine.js";
import { seededRandom } from "../pipeline/core/hash.js";
import { RowsCache } from "../pipeline/models/cache.js";
import { VllmSource, vllmModelSchema } from "../pipeline/models/vllm.js";

const V = 32_000;
const N = 512;
const K = 20;

/** A vLLM-shaped response for block b: random top-k rows, the actual token added where absent. */
function responseFor(b: number, n = N): string {
  const r = seededRandom(1000 + b);
  const prompt: unknown[] = [null];
  for (let j = 1; j < n; j++) {
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
  const top: Record<string, number> = {};
  for (let s = 0; s < K; s++) top[`token_id:${s}`] = -1 - s;
  return JSON.stringify({ id: "c", object: "text_completion", created: 0, model: "m", choices: [{ index: 0, text: "", logprobs: { text_offset: [0], token_logprobs: [-1], tokens: ["token_id:0"], top_logprobs: [top] }, finish_reason: "length", prompt_logprobs: prompt }] });
}

/** Serves body[prompt[1] % bodies] after `delayMs` (0 = at once), from its own thread. */
function startServer(bodies: string[], delayMs: number): Promise<{ url: string; worker: Worker }> {
  const code = `
    const { createServer } = require("node:http");
    const { workerData, parentPort } = require("node:worker_threads");
    const { bodies, delayMs } = workerData;
    const server = createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const p = JSON.parse(Buffer.concat(chunks).toString()).prompt;
        const body = bodies[p[1] % bodies.length];
        const send = () => { res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }); res.end(body); };
        delayMs ? setTimeout(send, delayMs) : send();
      });
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));`;
  const worker = new Worker(code, { eval: true, workerData: { bodies, delayMs } });
  return new Promise((resolve) => worker.once("message", (port: number) => resolve({ url: `http://127.0.0.1:${port}`, worker })));
}

const blockTokens = (b: number, n = N) => Array.from({ length: n }, (_, i) => (i === 1 ? b : (b * 7919 + i * 104_729) % V));

function source(url: string, model: string, concurrency: number, cache?: RowsCache) {
  const spec = vllmModelSchema.parse({ provider: "vllm", model, urls: [url], concurrency, maxLogprobs: K });
  return new VllmSource(spec, { vocabSize: V, role: model, cache });
}

/** The labels stage's per-block work: both models at once, then the combination. */
async function runBlocks(blocks: number, url: string, concurrency: number, cache?: RowsCache): Promise<number> {
  const base = source(url, "baseline", concurrency, cache);
  const reinf = source(url, "reinforced", concurrency, cache);
  const map = Int32Array.from({ length: N }, (_, i) => i);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let b = next++; b < blocks; b = next++) {
        const tokens = blockTokens(b);
        const [r, bl] = await Promise.all([reinf.rows(tokens, { topK: K }), base.rows(tokens, { topK: K })]);
        combineBlock({ reinforced: r, baseline: bl, map, forbidden: [], alphas: [5, 2.5, 10], logitSpace: "logprobs" });
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

const blocks = Number(process.argv[2] ?? 200);
const distinct = Math.min(blocks, 64);
const bodies = Array.from({ length: distinct }, (_, b) => responseFor(b));
const mb = bodies.reduce((s, x) => s + x.length, 0) / distinct / 1e6;

// 1. Parse-only vs the pipeline, on the same responses (each block: 2 responses).
{
  const t0 = performance.now();
  let sink = 0;
  for (let b = 0; b < blocks; b++) for (let m = 0; m < 2; m++) sink += (JSON.parse(bodies[b % distinct]) as { choices: unknown[] }).choices.length;
  const parseS = (performance.now() - t0) / 1000;
  const { url, worker } = await startServer(bodies, 0);
  const httpS = await runBlocks(blocks, url, 8);
  await worker.terminate();
  const tokens = blocks * N * 2;
  console.log(`served: ${blocks} blocks x 2 models, ${mb.toFixed(2)} MB per response (top-${K}, V ${V}, ${N} tokens), sink ${sink}`);
  console.log(`  JSON.parse only:        ${parseS.toFixed(2)} s = ${Math.round(tokens / parseS).toLocaleString("en-US")} tokens/s`);
  console.log(`  provider+combine, HTTP: ${httpS.toFixed(2)} s = ${Math.round(tokens / httpS).toLocaleString("en-US")} tokens/s (${(httpS / parseS).toFixed(2)}x parse-only; target <= 2x)`);
}

// 2. Request rate with a fixed server delay and C requests at once.
{
  const small = [responseFor(0, 16)]; // 16-token prompts: the delay, not parsing, must set the pace
  const { url, worker } = await startServer(small, 100);
  const C = 16;
  const delayS = 0.1;
  const requests = 160;
  const src = source(url, "baseline", C);
  // warm the connections
  await Promise.all(Array.from({ length: C }, (_, i) => src.rows(blockTokens(i, 16), { topK: K })));
  const t0 = performance.now();
  let next = C;
  await Promise.all(Array.from({ length: C }, async () => {
    for (let i = next++; i < C + requests; i = next++) await src.rows(blockTokens(i, 16), { topK: K });
  }));
  const s = (performance.now() - t0) / 1000;
  await worker.terminate();
  const rate = requests / s;
  console.log(`  request rate, server delay ${delayS * 1000} ms, C = ${C}: ${rate.toFixed(1)} req/s = ${((100 * rate) / (C / delayS)).toFixed(1)}% of C/delay (target >= 90%)`);
}

// 3. Peak RSS of the client while streaming through the cache, at two sizes.
{
  const { url, worker } = await startServer(bodies, 0);
  for (const n of [Math.max(8, blocks >> 2), blocks]) {
    const cache = new RowsCache(await mkdtemp(join(tmpdir(), "whp-bench-cache-")));
    await runBlocks(n, url, 8, cache);
    console.log(`  after ${n} blocks (${(n * N * 2).toLocaleString("en-US")} tokens, cached): peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  }
  await worker.terminate();
}
