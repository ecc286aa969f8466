/**
 * The real labels stage over HTTP against a replay server (issue 17, items 1 and 2), part of
 * `npm run bench`; alone: `npx tsx bench/labels-served.bench.ts`.
 *
 * The server (replay-server.ts, a child process) answers every request instantly with bodies built
 * before the run, in vLLM's released shape, and keeps the bytes it sent. In the same process and on
 * exactly those bytes, five variants are timed (CPU seconds of this process, which the server is not
 * part of, and wall):
 *   (a) JSON.parse of each body (decoded to a string beforehand): the parse-only floor;
 *   (b) the provider's body reader, readVllmCompletion, on the bytes;
 *   (c) VllmSource.rows over HTTP, no cache (the stage's concurrency: each model's capacity), each
 *       distinct request once (the stage's probe repeats one, which (d)'s cache would answer);
 *   (d) the same with a response cache (an empty one in a temp folder);
 *   (e) the whole stage: runStage on the labels stage, cache on and empty, chunks, resume
 *       bookkeeping, the combination, output files.
 * Differences give where the time goes: parse = b, transport = c - b, cache = d - c, bookkeeping
 * (the combination included) = e - d. Targets: e within 1.5x of a (CPU) with top-20 rows, 2x with
 * full rows. Figures are compared per position handled. Rounds are interleaved; the figure judged is the mean over rounds, after a warm-up.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { RowsCache } from "../pipeline/models/cache.js";
import { settleCacheWrites } from "../pipeline/io/disk-cache.js";
import { readVllmCompletion, VllmSource, type VllmModelSpec } from "../pipeline/models/vllm.js";
import { buildLabelsInputs, servedContext, writeServedConfig, type LabelsInputOptions } from "./labels-inputs.js";
import { cpuSeconds, fmt, runLabelsTimed, verdict } from "./labels-run.js";
import { servedBodies, startReplayServer, control, type ServedBody } from "./replay-server.js";

interface Measure {
  cpuS: number;
  wallS: number;
}

async function measure(fn: () => unknown): Promise<Measure> {
  const c0 = cpuSeconds();
  const t0 = performance.now();
  await fn();
  return { wallS: (performance.now() - t0) / 1000, cpuS: cpuSeconds() - c0 };
}

/** Each model's requests through its own VllmSource, `capacity` at a time per model, as the stage
 * keeps them in flight. */
export async function viaSources(dir: string, bodies: readonly ServedBody[], withCache: boolean): Promise<void> {
  const ctx = await servedContext(dir);
  const topK = ctx.config.logits.topK;
  const cacheDir = withCache ? await mkdtemp(join(tmpdir(), "whp-bench-cache-")) : undefined;
  try {
    await Promise.all(
      (["baseline", "reinforced"] as const).map(async (role) => {
        const spec = ctx.config.models[role] as VllmModelSpec;
        const src = new VllmSource(spec, { vocabSize: 32_000, role, cache: cacheDir ? new RowsCache(join(cacheDir, role)) : undefined });
        const mine = bodies.filter((b) => b.model === role);
        let next = 0;
        await Promise.all(
          Array.from({ length: src.capacity }, async () => {
            for (let i = next++; i < mine.length; i = next++) await src.rows(mine[i].prompt.slice(0, -1), { topK });
          }),
        );
      }),
    );
  } finally {
    if (cacheDir) await settleCacheWrites().then(() => rm(cacheDir, { recursive: true, force: true })); // entries are written in the background
  }
}

/** Each (model, prompt) once, in first-seen order. */
function distinct(bodies: readonly ServedBody[]): ServedBody[] {
  const seen = new Set<string>();
  return bodies.filter((b) => {
    const key = `${b.model}|${b.prompt.join(",")}`;
    return !seen.has(key) && (seen.add(key), true);
  });
}

export interface ServedStageResult {
  label: string;
  ratioCpu: number;
  target: number;
  ok: boolean;
}

const VARIANTS = ["a", "b", "c", "d", "e"] as const;
type Variant = (typeof VARIANTS)[number];

/** Runs the five variants `rounds` times (after one warm-up round) on one corpus. */
export async function benchServedStage(label: string, o: LabelsInputOptions, target: number, rounds = 2): Promise<ServedStageResult> {
  const inputs = await buildLabelsInputs(o);
  const server = await startReplayServer({ runDir: join(inputs.dir, "run"), tokenizerPath: join(inputs.dir, "tokenizer.json"), k: o.topK === "full" ? 32_000 : o.topK, pregenerate: true, record: true });
  try {
    const url = server.urls[0];
    await writeServedConfig(inputs.dir, o, { baseline: url, reinforced: url });
    const k = o.topK;
    let bodies: ServedBody[] = [];
    let texts: string[] = [];
    const runs: Record<Variant, Measure[]> = { a: [], b: [], c: [], d: [], e: [] };
    let sink = 0;
    for (let round = 0; round <= rounds; round++) {
      await control(url, "/bench/reset", "POST");
      const stage = await runLabelsTimed(inputs.dir);
      // The bytes the stage received (every completions body, the probe's included).
      bodies = await servedBodies(url);
      // Every block asks both models: fewer requests means the stage reused earlier work (a resume).
      if (bodies.length < 2 * inputs.blocks) throw new Error(`the labels stage sent ${bodies.length} requests for ${inputs.blocks} blocks: it reused earlier work, so the bench would time less than a run`);
      texts = bodies.map((b) => b.body.toString());
      const a = await measure(() => {
        for (const t of texts) sink += (JSON.parse(t) as { choices: unknown[] }).choices.length;
      });
      const b = await measure(() => {
        for (const x of bodies) sink += readVllmCompletion(x.body, x.prompt.slice(0, -1), k, 32_000, "drop").n;
      });
      const c = await measure(() => viaSources(inputs.dir, distinct(bodies), false));
      const d = await measure(() => viaSources(inputs.dir, distinct(bodies), true));
      if (round === 0) continue; // warm-up: JIT, page cache
      runs.a.push(a);
      runs.b.push(b);
      runs.c.push(c);
      runs.d.push(d);
      runs.e.push({ cpuS: stage.cpuS, wallS: stage.wallS });
    }
    if (sink === 0) throw new Error("nothing parsed");
    const positionsOf = (xs: readonly ServedBody[]) => xs.reduce((n, x) => n + x.prompt.length - 1, 0);
    const all = positionsOf(bodies);
    const unique = positionsOf(distinct(bodies));
    // (c) and (d) send each distinct request once (a repeated probe would be a cache hit in (d)), so
    // every figure is compared per position of what the variant handled.
    const positions: Record<Variant, number> = { a: all, b: all, c: unique, d: unique, e: all };
    const mb = bodies.reduce((n, x) => n + x.body.length, 0) / 1e6;
    const mean = (v: Variant, f: "cpuS" | "wallS") => runs[v].reduce((s, m) => s + m[f], 0) / runs[v].length;
    const perPosition = (v: Variant, f: "cpuS" | "wallS" = "cpuS") => mean(v, f) / positions[v];
    const us = (seconds: number) => `${fmt(seconds * 1e6, 1)} µs`;
    const names: Record<Variant, string> = {
      a: "(a) JSON.parse only",
      b: "(b) body reader (readVllmCompletion)",
      c: "(c) VllmSource.rows over HTTP, no cache",
      d: "(d) VllmSource.rows over HTTP + cache",
      e: "(e) whole labels stage (runStage)",
    };
    console.log(`labels stage, served (issue 17), ${label}: ${inputs.blocks} blocks, ${bodies.length} responses (${distinct(bodies).length} distinct), ${fmt(all)} positions, ${fmt(mb, 1)} MB of JSON; mean of ${rounds} rounds after a warm-up; server: a child process replaying bodies instantly; libuv pool ${process.env.UV_THREADPOOL_SIZE ?? 4} thread(s)`);
    for (const v of VARIANTS) {
      const per = runs[v].map((m) => `${m.cpuS.toFixed(2)}`).join(" / ");
      console.log(`  ${names[v].padEnd(42)} CPU ${mean(v, "cpuS").toFixed(2)} s (${per}) = ${us(perPosition(v)).padStart(9)}/position; wall ${mean(v, "wallS").toFixed(2)} s = ${us(perPosition(v, "wallS"))}/position; ${fmt(perPosition(v) / perPosition("a"), 2)}x (a) CPU`);
    }
    const ratioCpu = mean("e", "cpuS") / mean("a", "cpuS");
    const ratioWall = mean("e", "wallS") / mean("a", "wallS");
    const diff = (x: Variant, y: Variant) => perPosition(x) - perPosition(y);
    console.log(`  where the client's CPU goes, per position: parse ${us(perPosition("b"))} (b), transport ${us(diff("c", "b"))} (c - b), cache ${us(diff("d", "c"))} (d - c), bookkeeping ${us(diff("e", "d"))} (e - d: chunks, resume, combination, outputs)`);
    const ok = ratioCpu <= target;
    console.log(`  whole stage / JSON.parse only: ${ratioCpu.toFixed(2)}x CPU (target <= ${target}x: ${verdict(ok)}), ${ratioWall.toFixed(2)}x wall`);
    await rm(inputs.dir, { recursive: true, force: true });
    return { label, ratioCpu, target, ok };
  } finally {
    await server.close();
  }
}

/** Top-20 rows on 512-token blocks, and full rows (topK "full", every one of the 32,000 ids per
 * position, ~2.3 MB of JSON each) on a handful of 16-token blocks. */
export async function benchServedStages(): Promise<{ ok: boolean }> {
  const top = await benchServedStage("top-20 rows, blocks of 512", { tokens: 50_000, blockSize: 512, topK: 20, terms: 400 }, 1.5);
  const full = await benchServedStage("full rows (topK full, V 32,000), blocks of 16", { tokens: 32, blockSize: 16, topK: "full", terms: 40, docs: 1 }, 2, 2);
  return { ok: top.ok && full.ok };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = await benchServedStages();
  if (!r.ok) process.exitCode = 1;
}
