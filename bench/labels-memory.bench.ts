/**
 * Peak memory of the real served labels stage (issue 17, item 3), part of `npm run bench`; alone:
 * `npx tsx bench/labels-memory.bench.ts`.
 *
 * For each corpus size (default ~1 M and ~5 M tokens; WHP_BENCH_MEMORY_TOKENS=a,b sets them) the run
 * folder is built by the real earlier stages on a generated book (labels-inputs.ts), and the labels
 * stage runs in a FRESH child process (its peak is a lifetime peak; see peakRssMb) against a replay server in another
 * child, which answers every request with a body kept per prompt length: nothing but the stage scales
 * with the corpus. The response cache is on, so its writes are in the figure. Rows are top-k with a
 * small k (WHP_BENCH_MEMORY_TOPK, default 2): what is held per request in flight does not depend on
 * the corpus, and top-20 rows for 10 M positions would take this 2-core machine most of the bench's
 * time budget. Targets: under 500 MB at 5 M tokens, and within 1.3x between 1 M and 5 M. When the
 * growth is missed, the largest size runs once more with V8's old space capped, to tell data the stage
 * keeps from heap V8 merely left uncollected.
 */
import { fork } from "node:child_process";
import { pipelinePoolThreads } from "./pipeline-pool.js";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildLabelsInputs, writeServedConfig, type LabelsInputOptions } from "./labels-inputs.js";
import { fmt, runLabelsTimed, verdict } from "./labels-run.js";
import { startReplayServer } from "./replay-server.js";

export { peakRssMb } from "./peak-rss.js";
import { peakRssMb } from "./peak-rss.js";
export const MEMORY_LIMIT_MB = 500;
export const MEMORY_GROWTH = 1.3;
/** Old-space cap of the diagnostic run (bytes the stage may keep live, in MB). */
const CAPPED_HEAP_MB = 128;

interface ChildResult {
  maxRssMb: number;
  wallS: number;
  cpuS: number;
}

/** Runs the labels stage of the run folder `dir` in a fresh process; its peak RSS. */
function inChild(dir: string, nodeFlags: string[] = []): Promise<ChildResult> {
  const child = fork(fileURLToPath(import.meta.url), ["--child", dir], {
    execArgv: [...process.execArgv, ...nodeFlags],
    // bin/whp.js's libuv pool (PIPELINE_POOL_THREADS unless set): glibc keeps a malloc arena per pool thread.
    env: { ...process.env, UV_THREADPOOL_SIZE: pipelinePoolThreads() },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    let result: ChildResult | undefined;
    child.on("message", (m: ChildResult) => (result = m));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 && result ? resolve(result) : reject(new Error(`memory bench child exited with ${code}`))));
  });
}

export async function benchMemory(): Promise<{ ok: boolean }> {
  const sizes = (process.env.WHP_BENCH_MEMORY_TOKENS ?? "1000000,5000000").split(",").map(Number);
  const topK = Number(process.env.WHP_BENCH_MEMORY_TOPK ?? 2);
  const figures: { tokens: number; positions: number; r: ChildResult }[] = [];
  for (const tokens of sizes) {
    const t0 = performance.now();
    const o: LabelsInputOptions = { tokens, blockSize: 512, topK, chunkBlocks: 8 };
    const inputs = await buildLabelsInputs(o);
    const buildS = (performance.now() - t0) / 1000;
    const server = await startReplayServer({ runDir: join(inputs.dir, "run"), tokenizerPath: join(inputs.dir, "tokenizer.json"), k: topK, byLength: true });
    try {
      await writeServedConfig(inputs.dir, o, { baseline: server.urls[0], reinforced: server.urls[0] });
      const r = await inChild(inputs.dir);
      figures.push({ tokens: inputs.original, positions: inputs.original + inputs.translated, r });
      console.log(`  ${fmt(inputs.original)} tokens (${fmt(inputs.blocks)} blocks, ${fmt(inputs.original + inputs.translated)} positions over both models): peak RSS ${fmt(r.maxRssMb)} MB; stage ${r.wallS.toFixed(1)} s wall, ${r.cpuS.toFixed(1)} s CPU (inputs built in ${buildS.toFixed(1)} s)`);
      // Where the memory goes when it grows: the same run with V8's old space capped. If it still
      // finishes, and lower, what grew was heap V8 chose not to collect, not data the stage holds.
      if (tokens === sizes[sizes.length - 1] && figures.length > 1 && r.maxRssMb / figures[0].r.maxRssMb > MEMORY_GROWTH) {
        const capped = await inChild(inputs.dir, [`--max-old-space-size=${CAPPED_HEAP_MB}`]).catch((e: Error) => e);
        console.log(
          capped instanceof Error
            ? `  the same with --max-old-space-size=${CAPPED_HEAP_MB}: failed (${capped.message}): the stage holds more than that much live data`
            : `  the same with --max-old-space-size=${CAPPED_HEAP_MB} (a diagnostic, not the figure judged): peak RSS ${fmt(capped.maxRssMb)} MB = ${(capped.maxRssMb / figures[0].r.maxRssMb).toFixed(2)}x the smallest size's, ${capped.cpuS.toFixed(1)} s CPU${capped.maxRssMb <= figures[0].r.maxRssMb * MEMORY_GROWTH ? ": the growth above is heap V8 let grow, not data the stage holds" : ""}`,
        );
      }
    } finally {
      await server.close();
      await rm(inputs.dir, { recursive: true, force: true });
    }
  }
  const first = figures[0];
  const last = figures[figures.length - 1];
  const growth = last.r.maxRssMb / first.r.maxRssMb;
  const underLimit = last.r.maxRssMb < MEMORY_LIMIT_MB;
  const flat = growth <= MEMORY_GROWTH;
  console.log(
    `peak RSS, real served labels stage (issue 17; top-${topK} rows, cache on, each size in a fresh process): ${fmt(last.r.maxRssMb)} MB at ${fmt(last.tokens)} tokens (target < ${MEMORY_LIMIT_MB} MB: ${verdict(underLimit)}); ` +
      `${growth.toFixed(2)}x from ${fmt(first.tokens)} to ${fmt(last.tokens)} tokens (target <= ${MEMORY_GROWTH}x: ${verdict(flat)})`,
  );
  return { ok: underLimit && flat };
}

if (process.argv[2] === "--child") {
  const r = await runLabelsTimed(process.argv[3]);
  process.send!({ maxRssMb: peakRssMb(), wallS: r.wallS, cpuS: r.cpuS } satisfies ChildResult);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = await benchMemory();
  if (!r.ok) process.exitCode = 1;
}
