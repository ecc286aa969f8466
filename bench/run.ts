/**
 * `npm run bench`: the figures issue #2 names.
 * - the combination step alone: positions/s for top-k = 20 rows over a 32k vocabulary (target: at
 *   least 1,000,000 positions/s on one core);
 * - the whole labels stage on the demo (model training + logits + combination), positions/s.
 * - served models (issue #4, bench/served.ts): provider throughput over HTTP vs JSON.parse alone
 *   (top-20 and full rows, wall and CPU), request rate against a fixed-delay server, peak RSS at two
 *   corpus sizes.
 * - the review page at book scale (issue 16, bench/review.bench.ts): start, row list, edits and
 *   concordances over HTTP on a generated 6 MB corpus with 1,600 terms.
 * - startup (issue 17, bench/startup.bench.ts): `whp --help` through bin/whp.js, wall and CPU, against
 *   0.25 s; a no-op `whp run` of the finished demo, plain (size + mtime) and with --verify.
 * - the embedded default's own cost (issue 17, bench/embedded.bench.ts): n-gram top-k search and
 *   training per position, CPU, next to the combination's per position.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "../pipeline/config.js";
import { createLogger } from "../pipeline/io/log.js";
import { createContext, runStage, type StageContext } from "../pipeline/stage.js";
import { STAGES } from "../pipeline/stages/index.js";
import { benchCombine } from "./combine.bench.js";
import { benchServed } from "./served.js";
import { benchReview, printReviewBench } from "./review.bench.js";
import { benchEmbedded, printEmbedded } from "./embedded.bench.js";
import { benchNoopRun, benchStartup, printNoopRun, printStartup } from "./startup.bench.js";

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
  const t0 = performance.now();
  await runStage(labels, ctx, { force: true });
  const seconds = (performance.now() - t0) / 1000;
  const { readFile } = await import("node:fs/promises");
  const positions = (await readFile(ctx.path("blocks"), "utf8"))
    .trim()
    .split("\n")
    .reduce((n, line) => n + (JSON.parse(line).input_ids.length as number), 0);
  console.log(`labels stage on the demo: ${positions} positions in ${seconds.toFixed(2)} s = ${Math.round(positions / seconds).toLocaleString("en-US")} positions/s (top-k ${config.logits.topK}, n-gram order ${config.models.baseline.provider === "ngram" ? config.models.baseline.order : "-"}, includes training both models)`);
  return ctx;
}

const combine = await benchCombine();
console.log(`combination step: ${Math.round(combine.positionsPerSecond).toLocaleString("en-US")} positions/s (top-k 20, vocabulary 32,000, 3 alphas, one core; target >= 1,000,000)`);
const demo = await benchLabelsStage();
printEmbedded(await benchEmbedded(demo), 1e6 / combine.positionsPerCpuSecond);
await benchServed();
printReviewBench(await benchReview());
const startup = benchStartup();
printStartup(startup);
printNoopRun(benchNoopRun());
if (!startup.ok) process.exitCode = 1;
