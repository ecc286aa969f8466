/**
 * Startup (issue 17, item 6): `whp --help` through the real binary (bin/whp.js runs dist/, so run
 * `npm run build` first; a dist/ older than the source is reported), ten times, median wall and CPU
 * time against the 0.25 s target, and how many modules it loads (a loader hook counts them); and a
 * no-op `whp run` of the finished demo (files trusted by size and mtime) against the same with
 * `--verify` (every byte hashed, which is what every no-op run did before).
 * Called by bench/run.ts; `npx tsx bench/startup.bench.ts` runs it alone.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "whp.js");
export const STARTUP_TARGET_S = 0.25;

/** CPU seconds of this process's waited-for children (Linux /proc; undefined elsewhere). */
function childrenCpuSeconds(): number | undefined {
  try {
    // Fields after the ")" of the command name: state is field 3, cutime 16 and cstime 17 (man 5 proc).
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100; // clock ticks, USER_HZ = 100 on Linux
  } catch {
    return undefined;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface StartupResult {
  medianWallS: number;
  /** Mean CPU seconds per run (user + system of the child); undefined off Linux. */
  cpuS: number | undefined;
  modules: number;
  staleDist: boolean;
  ok: boolean;
}

export function benchStartup(runs = 10): StartupResult {
  const walls: number[] = [];
  const cpu0 = childrenCpuSeconds();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8" });
    walls.push((performance.now() - t0) / 1000);
    if (r.status !== 0) throw new Error(`whp --help exited ${r.status}: ${r.stderr}`);
  }
  const cpu1 = childrenCpuSeconds();
  const dir = mkdtempSync(join(tmpdir(), "whp-startup-"));
  const log = join(dir, "modules.txt");
  spawnSync(process.execPath, ["--import", pathToFileURL(join(ROOT, "tests", "helpers", "module-log-hook.mjs")).href, BIN, "--help"], { env: { ...process.env, WHP_MODULE_LOG: log } });
  const modules = readFileSync(log, "utf8").trim().split("\n").length;
  rmSync(dir, { recursive: true, force: true });
  const staleDist = statSync(join(ROOT, "dist", "pipeline", "cli.js")).mtimeMs < statSync(join(ROOT, "pipeline", "cli.ts")).mtimeMs;
  const medianWallS = median(walls);
  const cpuS = cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / runs;
  return { medianWallS, cpuS, modules, staleDist, ok: medianWallS < STARTUP_TARGET_S };
}

export function printStartup(r: StartupResult): void {
  console.log(
    `startup: \`whp --help\` ${r.medianWallS.toFixed(3)} s wall (median of 10), ${r.cpuS === undefined ? "CPU n/a" : `${r.cpuS.toFixed(3)} s CPU`} per run, ${r.modules} modules loaded (target < ${STARTUP_TARGET_S} s wall: ${r.ok ? "met" : "MISSED"})${r.staleDist ? " [dist/ is older than pipeline/cli.ts: run `npm run build`]" : ""}`,
  );
}

export interface NoopResult {
  wallS: number;
  cpuS: number | undefined;
  verifyWallS: number;
  verifyCpuS: number | undefined;
  artifactBytes: number;
}

/** Runs the demo once into a temp folder, then times `whp run` on it (median of 3), plain and --verify. */
export function benchNoopRun(): NoopResult {
  const dir = mkdtempSync(join(tmpdir(), "whp-noop-"));
  const args = [BIN, "run", "--config", join(ROOT, "demo", "whp.config.yaml"), "--set", `run.outDir=${dir}`, "--quiet"];
  const once = (extra: string[]) => {
    const r = spawnSync(process.execPath, [...args, ...extra], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`whp run exited ${r.status}: ${r.stderr}`);
  };
  once([]);
  const time = (extra: string[]) => {
    const walls: number[] = [];
    const cpu0 = childrenCpuSeconds();
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      once(extra);
      walls.push((performance.now() - t0) / 1000);
    }
    const cpu1 = childrenCpuSeconds();
    return { wall: median(walls), cpu: cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / 3 };
  };
  const plain = time([]);
  const verify = time(["--verify"]);
  const artifactBytes = spawnSync("du", ["-sb", dir], { encoding: "utf8" }).stdout.split("\t")[0];
  rmSync(dir, { recursive: true, force: true });
  return { wallS: plain.wall, cpuS: plain.cpu, verifyWallS: verify.wall, verifyCpuS: verify.cpu, artifactBytes: Number(artifactBytes) };
}

export function printNoopRun(r: NoopResult): void {
  const cpu = (x: number | undefined) => (x === undefined ? "CPU n/a" : `${x.toFixed(2)} s CPU`);
  console.log(
    `no-op \`whp run\` on the finished demo (${(r.artifactBytes / 1e6).toFixed(1)} MB in the run folder): ${r.wallS.toFixed(2)} s wall, ${cpu(r.cpuS)} trusting size + mtime; ${r.verifyWallS.toFixed(2)} s wall, ${cpu(r.verifyCpuS)} with --verify (every byte hashed, as before)`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = benchStartup();
  printStartup(r);
  printNoopRun(benchNoopRun());
  if (!r.ok) process.exitCode = 1;
}
