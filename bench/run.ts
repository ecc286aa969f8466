/**
 * `npm run bench`: the figures issue #2 names.
 * - the combination step alone: positions/s for top-k = 20 rows over a 32k vocabulary (target: at
 *   least 1,000,000 positions/s on one core);
 * - the whole labels stage on the demo (model training + logits + combination), positions/s.
 * - the real served labels stage (issue 17; bench/labels-served.bench.ts, labels-rate.bench.ts,
 *   labels-memory.bench.ts): runStage against a replay server in a child process, its client CPU next
 *   to JSON.parse of the very bytes it received (top-20 and full rows) and where the time goes; its
 *   request rate against a fixed-delay server; its peak RSS at ~1 M and ~5 M tokens.
 * - every other stage's peak RSS at the same sizes (issue 17, bench/stages-memory.bench.ts).
 * - the review page at book scale (issue 16, bench/review.bench.ts): start, row list, edits and
 *   concordances over HTTP on a generated 6 MB corpus with 1,600 terms.
 * - startup (issue 17, bench/startup.bench.ts): `whp --help` through bin/whp.js, wall and CPU, against
 *   0.25 s; a no-op `whp run` of the finished demo, plain (size + mtime) and with --verify.
 * - the embedded default's own cost (issue 17, bench/embedded.bench.ts): n-gram top-k search and
 *   training per position, CPU, next to the combination's per position.
 * Every figure is printed next to its target; the process exits 1 when any target is missed (the
 * combination's is judged per CPU second: wall time on a shared 2-core machine measures the others).
 */
import { spawnSync } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../pipeline/config.js";
import { createLogger } from "../pipeline/io/log.js";
import { createContext, runStage, type StageContext } from "../pipeline/stage.js";
import { STAGES } from "../pipeline/stages/index.js";
import { benchCombine } from "./combine.bench.js";
import { benchServedStages } from "./labels-served.bench.js";
import { cpuSeconds } from "./labels-run.js";
import { benchRequestRate } from "./labels-rate.bench.js";
import { benchMemory } from "./labels-memory.bench.js";
import { benchStagesMemory } from "./stages-memory.bench.js";
import { benchReview, printReviewBench } from "./review.bench.js";
import { benchEmbedded, printEmbedded } from "./embedded.bench.js";
import { PIPELINE_POOL_THREADS } from "./pipeline-pool.js";
import { benchNoopRun, benchStartup, printNoopRun, printStartup } from "./startup.bench.js";

// bin/whp.js runs the pipeline with a PIPELINE_POOL_THREADS libuv pool unless UV_THREADPOOL_SIZE is set; the pool
// is sized when it first starts (before this line runs), so the bench runs itself again with the
// same setting, and the stages it times in this process see the pool a user's `whp` has.
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  const again = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, UV_THREADPOOL_SIZE: PIPELINE_POOL_THREADS } });
  process.exit(again.status ?? 1);
}

async function benchLabelsStage(): Promise<StageContext> {
  const outDir = await mkdtemp(join(tmpdir(), "whp-bench-"));
  const config = await loadConfig(resolve(import.meta.dirname, "..", "demo", "whp.config.yaml"), { "run.outDir": outDir });
  const ctx = createContext(config, createLogger({ quiet: true }));
  for (const stage of STAGES) {
    if (stage.name === "labels") break;
    await runStage(stage, ctx);
  }
  const labels = STAGES.find((s) => s.name === "labels");
  if (!labels) throw new Error("no labels stage");
  const c0 = cpuSeconds();
  const t0 = performance.now();
  await runStage(labels, ctx, { force: true });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  const { readFile } = await import("node:fs/promises");
  const positions = (await readFile(ctx.path("blocks"), "utf8"))
    .trim()
    .split("\n")
    .reduce((n, line) => n + (JSON.parse(line).input_ids.length as number), 0);
  console.log(`labels stage on the demo: ${positions} positions in ${seconds.toFixed(2)} s = ${Math.round(positions / seconds).toLocaleString("en-US")} positions/s wall, ${cpu.toFixed(2)} s CPU = ${Math.round(positions / cpu).toLocaleString("en-US")} positions per CPU second (no target: for comparison; top-k ${config.logits.topK}, n-gram order ${config.models.baseline.provider === "ngram" ? config.models.baseline.order : "-"}, includes training both models)`);
  return ctx;
}

const missed: string[] = [];
const combine = await benchCombine();
const combineOk = combine.positionsPerCpuSecond >= 1e6;
if (!combineOk) missed.push("combination");
console.log(
  `combination step: ${Math.round(combine.positionsPerCpuSecond).toLocaleString("en-US")} positions per CPU second, ${Math.round(combine.positionsPerSecond).toLocaleString("en-US")} positions/s wall (top-k 20, vocabulary 32,000, 3 alphas, one core; target >= 1,000,000 per CPU second: ${combineOk ? "met" : "MISSED"})`,
);
const demo = await benchLabelsStage();
printEmbedded(await benchEmbedded(demo), 1e6 / combine.positionsPerCpuSecond);
if (!(await benchServedStages()).ok) missed.push("served labels stage vs JSON.parse");
if (!(await benchRequestRate()).ok) missed.push("request rate");
if (!(await benchMemory()).ok) missed.push("labels stage memory");
if (!(await benchStagesMemory()).ok) missed.push("stages memory");
const review = await benchReview();
printReviewBench(review);
if (review.some((l) => l.wallMs > l.targetMs)) missed.push("review page");
const startup = benchStartup();
printStartup(startup);
printNoopRun(benchNoopRun());
if (!startup.ok) missed.push("startup");
console.log(missed.length ? `targets missed: ${missed.join(", ")}` : "every target met");
if (missed.length) process.exitCode = 1;
