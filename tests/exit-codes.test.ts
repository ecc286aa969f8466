/**
 * The README's "Exit codes" table, command by command, through the real bin/whp.js in a child process
 * (bin/whp.js assigns main()'s result to process.exitCode, which once overwrote a command's own 1).
 * The binary runs the TypeScript source through tests/helpers/bin-from-source.mjs, so a stale dist/
 * cannot hide a regression. Chat endpoints are an in-process server on 127.0.0.1 port 0.
 */
import { execFile } from "node:child_process";
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { main } from "../pipeline/cli.js";
import { capture } from "./helpers/capture.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

const ROOT = resolve(import.meta.dirname, "..");

/** `node bin/whp.js <args>` with the source; resolves (never rejects) with the exit code and output. */
export function whpBinary(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "--import", "./tests/helpers/bin-from-source.mjs", "bin/whp.js", ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", ...env }, maxBuffer: 64 << 20 },
      (error, out, err) => done({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, out, err }),
    );
  });
}

/** A chat server: /200/v1 answers, /401/v1 refuses every key, /500/v1 always fails (echoing the
 * Authorization header). */
async function startFailingChat(): Promise<{ server: Server; base: string }> {
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    if (req.url?.startsWith("/200/")) {
      const content = JSON.stringify({ anchors: [{ term: "Tamsin", translations: ["Hannah"], category: "person" }] });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] }));
      return;
    }
    const status = req.url?.startsWith("/401/") ? 401 : 500;
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `bad request, you sent ${req.headers.authorization}` } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let fx: Fixture;
let chat: { server: Server; base: string };

async function withLlm(status: 200 | 401 | 500, name: string): Promise<string> {
  const raw = parse(await readFile(fx.configPath, "utf8"));
  raw.llm = { provider: "openai", model: "m", baseUrl: `${chat.base}/${status}/v1`, attempts: 1, concurrency: 2, passageChars: 2000, passagesPerDocument: 1 };
  const path = join(fx.dir, name);
  await writeFile(path, stringify(raw));
  return path;
}

beforeAll(async () => {
  const ngram = (forgetWeight: number) => ({ provider: "ngram", order: 3, generalWeight: 1, forgetWeight });
  fx = await makeFixture({ models: { baseline: ngram(1), reinforced: ngram(4), oracle: ngram(0) } }, { forgetChars: 3000 });
  chat = await startFailingChat();
  expect((await capture(() => main(["node", "whp", "run", "--config", fx.configPath, "--quiet"]))).code).toBe(0);
});

afterAll(async () => {
  await new Promise((r) => chat.server.close(r));
  await rm(fx.dir, { recursive: true, force: true });
});

describe("exit codes through bin/whp.js (README, Exit codes)", () => {
  it("no command sets process.exitCode itself: main() decides (bin/whp.js would overwrite it)", async () => {
    const { readdir } = await import("node:fs/promises");
    const files = (await readdir(join(ROOT, "pipeline"), { recursive: true })).filter((f) => f.endsWith(".ts"));
    const setters: string[] = [];
    for (const f of files) if (/process\.exitCode\s*=[^=]/.test(await readFile(join(ROOT, "pipeline", f), "utf8"))) setters.push(f);
    expect(setters).toEqual([]);
  });


  it("0: --help, whp check on a good config, a finished run, anchors check without --strict, verify on an intact dataset", async () => {
    expect((await whpBinary(["--help"])).code).toBe(0);
    expect((await whpBinary(["check", "--config", fx.configPath])).code).toBe(0);
    expect((await whpBinary(["run", "--config", fx.configPath, "--quiet"])).code).toBe(0);
    const check = await whpBinary(["anchors", "check", "--config", fx.configPath]);
    expect(check.out).toMatch(/[1-9]\d* flag\(s\)/);
    expect(check.code).toBe(0);
    expect((await whpBinary(["verify", join(fx.runDir, "dataset")])).code).toBe(0);
    expect((await whpBinary(["init", join(fx.dir, "new.yaml")])).code).toBe(0);
    const block = JSON.parse((await readFile(join(fx.runDir, "blocks.jsonl"), "utf8")).split("\n")[0]).id as string;
    expect((await whpBinary(["inspect", block, "--rows", "3", "--config", fx.configPath])).code).toBe(0);
    const answered = await whpBinary(["anchors", "extract", "--config", await withLlm(200, "llm-200.yaml"), "--quiet"], { OPENAI_API_KEY: "sk-test-exitcodes-0123456789abcdef" });
    expect(answered.out).toMatch(/failed 0/);
    expect(answered.code).toBe(0);
    expect((await whpBinary(["anchors", "consolidate", "--config", join(fx.dir, "llm-200.yaml"), "--set", "llm.reviewFile=review-200.csv", "--quiet"])).code).toBe(0);
    expect((await whpBinary(["ingest", "--config", fx.configPath, "--quiet"])).code).toBe(0);
    for (const cmd of ["evalset", "eval", "report"]) {
      const r = await whpBinary([cmd, "--config", fx.configPath, "--quiet"]);
      expect(r.code, `${cmd}: ${r.err}`).toBe(0);
    }
  });

  it("1: anchors extract when calls fail, anchors check --strict with flags", async () => {
    const extract = await whpBinary(["anchors", "extract", "--config", await withLlm(500, "llm-500.yaml"), "--set", "run.outDir=out-500"], { OPENAI_API_KEY: "sk-test-exitcodes-0123456789abcdef" });
    expect(extract.out).toMatch(/failed [1-9]/);
    expect(extract.err).toMatch(/failed: all of \d+ call\(s\) to the model failed/);
    expect(extract.err).not.toMatch(/\n\s+at /); // no stack trace
    expect(extract.code).toBe(1);
    const strict = await whpBinary(["anchors", "check", "--strict", "--config", fx.configPath]);
    expect(strict.err).toMatch(/--strict: \d+ row\(s\)/);
    expect(strict.code).toBe(1);
  });

  it("2: unknown option, missing config, init over a file, whp check finding a problem, a 401 in evalset --generate, a damaged dataset", async () => {
    expect((await whpBinary(["run", "--no-such-flag"])).code).toBe(2);
    expect((await whpBinary(["run", "--config", "/nonexistent/whp.yaml"])).code).toBe(2);
    expect((await whpBinary(["init", fx.configPath])).code).toBe(2);
    expect((await whpBinary(["check", "--config", fx.configPath, "--set", "tokenizer=missing.json"])).code).toBe(2);
    expect((await whpBinary(["inspect", "forget/nope.txt#0", "--config", fx.configPath])).code).toBe(2);
    expect((await whpBinary(["inspect", "forget/nope.txt#0", "--rows", "abc", "--config", fx.configPath])).code).toBe(2);
    const early = await whpBinary(["inspect", "forget/nope.txt#0", "--config", fx.configPath, "--set", "run.outDir=not-run-yet"]);
    expect(early.err).toMatch(/does not exist yet[\s\S]*whp run/);
    expect(early.code).toBe(2);
    expect((await whpBinary(["check", "--config", fx.configPath, "--set", "blockSize=abc"])).code).toBe(2);
    const bareRun = await whpBinary(["run", "--config", fx.configPath, "--set", "tokenizer=missing.json", "--set", "run.outDir=never"]);
    expect(bareRun.code).toBe(2);
    expect(await readFile(join(fx.dir, "never", "documents.jsonl")).catch(() => "absent")).toBe("absent");
    expect((await whpBinary(["anchors", "extract", "--config", fx.configPath])).code).toBe(2); // no llm: section
    expect((await whpBinary(["anchors", "consolidate", "--config", fx.configPath, "--set", "run.outDir=not-run-yet"])).code).toBe(2); // no raw answers
    await writeFile(join(fx.dir, "broken.csv"), "term,translations,category,notes,status\nTamsin,Emma,person,,approved\nTamsin,Lucy,person,,approved\n");
    expect((await whpBinary(["anchors", "check", "--config", fx.configPath, "--set", "dictionary=broken.csv"])).code).toBe(2);

    const gen = await whpBinary(["evalset", "--generate", "2", "--config", await withLlm(401, "llm-401.yaml")], { OPENAI_API_KEY: "sk-test-exitcodes-0123456789abcdef" });
    expect(gen.err).toContain(`check OPENAI_API_KEY / HF_TOKEN for ${chat.base}/401/v1`);
    expect(gen.err).not.toMatch(/\n\s+at /);
    expect(gen.code).toBe(2);

    const damaged = join(fx.dir, "damaged");
    await cp(join(fx.runDir, "dataset"), damaged, { recursive: true });
    const train = join(damaged, "hf", "train.jsonl");
    const text = await readFile(train, "utf8").catch(() => undefined);
    await writeFile(text === undefined ? join(damaged, "manifest.json") : train, text === undefined ? "{" : text.replace(/\d/, (d) => String((Number(d) + 1) % 10)));
    expect((await whpBinary(["verify", damaged])).code).toBe(2);
  });
});
