/**
 * Startup (issue 17): `whp --help` builds the whole command tree but imports no implementation. The
 * real binary runs from source (tests/helpers/bin-from-source.mjs) with a loader hook that logs every
 * module loaded (tests/helpers/module-log-hook.mjs); the test fails when a help screen reaches an SDK
 * (openai, @huggingface/inference, tokenizers, playwright-core), a schema library or a stage, model,
 * evaluation or review module. And the catalog the CLI registers stage commands from must say what
 * the stages themselves say.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { STAGE_CATALOG } from "../pipeline/stages/catalog.js";
import { STAGES } from "../pipeline/stages/index.js";

const ROOT = join(import.meta.dirname, "..");
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** Runs `whp <args>` from source and returns its stdout and the modules it loaded, relative to the
 * repository (node_modules/<package>/... for packages). */
async function loadedBy(args: string[]): Promise<{ stdout: string; modules: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), "whp-startup-"));
  dirs.push(dir);
  const log = join(dir, "modules.txt");
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--import", "./tests/helpers/bin-from-source.mjs", "--import", "./tests/helpers/module-log-hook.mjs", "bin/whp.js", ...args], {
    cwd: ROOT,
    env: { ...process.env, WHP_MODULE_LOG: log },
  });
  const urls = (await readFile(log, "utf8")).trim().split("\n");
  return { stdout, modules: urls.filter((u) => u.startsWith("file:")).map((u) => fileURLToPath(u).slice(ROOT.length + 1)) };
}

const packagesOf = (modules: string[]) => [...new Set(modules.flatMap((m) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1] ?? []))].sort();

describe("whp --help", () => {
  for (const args of [["--help"], ["labels", "--help"], ["eval", "--help"], ["review-queue", "labels", "--help"]]) {
    it(`\`whp ${args.join(" ")}\` loads commander and the command modules, nothing else`, async () => {
      const { stdout, modules } = await loadedBy(args);
      expect(stdout).toMatch(/^Usage: whp/);
      // The hook saw the run (the CLI itself and the command modules), so an empty log cannot pass.
      expect(modules).toEqual(expect.arrayContaining(["bin/whp.js", "pipeline/cli.ts", "pipeline/commands/eval.ts", "pipeline/stages/catalog.ts"]));
      expect(packagesOf(modules)).toEqual(["commander"]);
      const heavy = modules.filter((m) => /^pipeline\/(stage\.ts|config\.ts|models\/|llm\/|review\/|anchors\/|stages\/(?!catalog\.ts)|eval\/(?!cli-defaults\.ts)|io\/(artifacts|tokenizer)\.ts)/.test(m));
      expect(heavy).toEqual([]);
    }, 30_000);
  }
});

describe("the stage catalog", () => {
  it("names every stage in pipeline order with its own summary, reads and writes", () => {
    expect(STAGE_CATALOG.map((s) => ({ ...s }))).toEqual(STAGES.map(({ name, summary, reads, writes }) => ({ name, summary, reads, writes })));
  });
});
