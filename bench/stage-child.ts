/**
 * One stage of one run in a process of its own, for bench/stages-memory.bench.ts: a fresh process has
 * no memory of the stages before it, so its peak RSS is this stage's. Runs the real stage through the
 * runner (forced), then prints one JSON line: peak RSS (VmHWM, bench/peak-rss.ts:
 * getrusage's maxRSS carries the parent's peak over the exec on Linux, so under `npm run bench` every
 * stage read the bench process's 323 MB) and the stage's wall time.
 * Usage: tsx bench/stage-child.ts <stage> <config.yaml>
 */
import { loadConfig } from "../pipeline/config.js";
import { createLogger } from "../pipeline/io/log.js";
import { createContext, runStage } from "../pipeline/stage.js";
import { STAGES } from "../pipeline/stages/index.js";
import { peakRssMb } from "./peak-rss.js";

const [name, configPath] = process.argv.slice(2);
const stage = STAGES.find((s) => s.name === name);
if (!stage || !configPath) throw new Error(`usage: stage-child.ts <${STAGES.map((s) => s.name).join("|")}> <config.yaml>`);
const config = await loadConfig(configPath);
const ctx = createContext(config, createLogger({ quiet: true }));
const t0 = performance.now();
await runStage(stage, ctx, { force: true });
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ stage: name, maxRssMB: peakRssMb(), seconds }));
