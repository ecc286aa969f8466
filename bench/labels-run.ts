/**
 * Shared by the real-stage benches (issue 17): one fresh run of the real labels stage (runStage, the
 * run's response cache on and empty, chunks, resume bookkeeping, output files), and the CPU clock.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { runStage, type StageOutcome } from "../pipeline/stage.js";
import { STAGES } from "../pipeline/stages/index.js";
import { servedContext } from "./labels-inputs.js";

/** CPU seconds (user + system) of this process, every thread of it. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export function labelsStage() {
  const s = STAGES.find((x) => x.name === "labels");
  if (!s) throw new Error("no labels stage in STAGES");
  return s;
}

/** Removes what would let the stage skip work: its outputs (the review step reuses a combination
 * whose inputs are unchanged) and the response cache, so every request goes to the server. */
export async function clearLabels(dir: string): Promise<void> {
  const ctx = await servedContext(dir);
  for (const name of labelsStage().writes) await rm(ctx.path(name), { force: true });
  await emptyFolders(join(ctx.config.runDir, ".whp", "cache"));
}

/** Removes every file under `dir` and keeps the folders: io/cache-write.ts remembers the folders it
 * made in this process, and two concurrent writes into a folder removed since then race on its
 * retry (one fails with ENOENT), so the cache is emptied, not removed, between runs. */
async function emptyFolders(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await emptyFolders(p);
    else await rm(p, { force: true });
  }
}

export interface TimedStage {
  cpuS: number;
  wallS: number;
  outcome: StageOutcome;
}

/** The labels stage as `whp labels` runs it, on a fresh context (config loaded, tokenizer loaded),
 * its CPU and wall time measured around everything it does. */
export async function runLabelsTimed(dir: string): Promise<TimedStage> {
  await clearLabels(dir);
  const c0 = cpuSeconds();
  const t0 = performance.now();
  const ctx = await servedContext(dir);
  const outcome = await runStage(labelsStage(), ctx, { force: true });
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = cpuSeconds() - c0;
  if (outcome.skipped) throw new Error("the labels stage skipped its work: the bench measured nothing");
  return { cpuS, wallS, outcome };
}

export const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
