/**
 * `whp eval` against served models: the sandbox's own n-grams behind the reference server (vLLM and
 * SGLang protocols, real HTTP, real clients) must score what they score in process; failures are
 * retried, answers cached, and names resolved with errors that list what exists.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { loadConfig, type ResolvedConfig } from "../pipeline/config.js";
import { ModelTokenizer } from "../pipeline/io/tokenizer.js";
import { loadSandboxModels } from "../pipeline/eval/evaluate.js";
import { defaultModelNames, parseInlineModel } from "../pipeline/eval/targets.js";
import type { NgramModel } from "../pipeline/models/ngram.js";
import { type ReferenceServer, type ReferenceServerOptions, startReferenceServer } from "../pipeline/models/reference-server.js";
import { whpCli } from "./helpers/capture.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

let fx: Fixture;
let models: Record<string, NgramModel>;
let tok: ModelTokenizer;
const servers: ReferenceServer[] = [];

const cli = (...args: string[]) => whpCli(fx.configPath, ...args);
const scores = async (name: string) => JSON.parse(await readFile(join(fx.runDir, "eval", `scores-${name}.json`), "utf8"));

async function serve(opts: Partial<ReferenceServerOptions> = {}): Promise<ReferenceServer> {
  const s = await startReferenceServer({
    models: Object.fromEntries(Object.entries(models).map(([k, m]) => [k, { source: m, logProb: (h: readonly number[], t: number) => m.logProb(h, t) }])),
    tokenizer: { encodeWithSpecial: async (text) => [...tok.info.prefixSpecialIds, ...(await tok.encodeIds(text))], decode: (ids) => tok.decode(ids) },
    ...opts,
  });
  servers.push(s);
  return s;
}

beforeAll(async () => {
  fx = await makeFixture();
  expect((await cli("run")).code).toBe(0);
  expect((await cli("evalset", "--size", "20", "--positions", "40", "--neighbours", "3")).code).toBe(0);
  expect((await cli("eval", "--model", "baseline", "unlearned")).code).toBe(0);
  const config = await loadConfig(fx.configPath);
  models = await loadSandboxModels(config, ["baseline", "unlearned"]);
  tok = await ModelTokenizer.load(config.tokenizer);
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** Served scores equal the sandbox's up to the float32 values a server reports. */
function expectSameScores(served: { scores: Record<string, { value: number; n: number }> }, sandbox: typeof served) {
  for (const k of ["probabilityFamiliarity", "retainPerplexity", "neighbourPerplexity"]) {
    expect(served.scores[k].n).toBe(sandbox.scores[k].n);
    expect(served.scores[k].value).toBeCloseTo(sandbox.scores[k].value, 4);
  }
  expect(served.scores.leakRate).toEqual(sandbox.scores.leakRate);
  // a server lists only the top k of a distribution: no KL to the oracle
  expect(served.scores.restorationKL).toBeUndefined();
}

describe("whp eval --model <name>=<url> (vLLM protocol)", () => {
  it("scores served models as the sandbox does, pairs them with a served baseline, and answers a repeat from the cache", async () => {
    const server = await serve();
    const run = await cli("eval", "--model", `base=${server.url}#baseline`, `unl=${server.url}#unlearned`, "--baseline", "base");
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/^base\s/m);
    const [base, unl, sandboxBase, sandboxUnl] = await Promise.all(["base", "unl", "baseline", "unlearned"].map(scores));
    expectSameScores(base, sandboxBase);
    expectSameScores(unl, sandboxUnl);
    expect(unl.identity).toMatchObject({ provider: "vllm", model: "unlearned" });
    expect(unl.items.completions.map((c: { completion: string }) => c.completion)).toEqual(sandboxUnl.items.completions.map((c: { completion: string }) => c.completion));
    expect(base.scores.relativePerplexity.value).toBe(1);
    expect(unl.scores.relativePerplexity.value).toBeCloseTo(sandboxUnl.scores.relativePerplexity.value, 4);

    // up to date: nothing is asked; forced: every answer comes from the cache
    const requests = () => Object.entries(server.stats.requests).filter(([p]) => p !== "/v1/models" && p !== "/tokenize").reduce((a, [, n]) => a + n, 0);
    const before = requests();
    expect(before).toBeGreaterThan(0);
    expect((await cli("eval", "--model", `base=${server.url}#baseline`, `unl=${server.url}#unlearned`, "--baseline", "base")).code).toBe(0);
    // --baseline resolves like --model: a model not evaluated in this call is named in full
    const forced = await cli("eval", "--model", `unl=${server.url}#unlearned`, "--baseline", `base=${server.url}#baseline`, "--force");
    expect(forced.code, forced.err).toBe(0);
    expect((await scores("unl")).scores.relativePerplexity.value).toBeCloseTo(unl.scores.relativePerplexity.value, 12);
    expect(requests()).toBe(before);

    // the report and --compare take served scores side by side with the sandbox's
    const cmp = await cli("eval", "--compare", "unlearned", "unl");
    expect(cmp.code).toBe(0);
    expect(cmp.out).toMatch(/^unl\s/m);
    expect((await cli("report")).code).toBe(0);
    expect(await readFile(join(fx.runDir, "report.html"), "utf8")).toContain(">unl<");
    // scores of an earlier evaluation set stay on disk but out of the report, with a warning
    await writeFile(join(fx.runDir, "eval", "scores-old.json"), JSON.stringify({ ...unl, model: "old", evalset: "0".repeat(64) }));
    const rep = await cli("report");
    expect(rep.code).toBe(0);
    expect(rep.err).toContain("left out scores-old.json");
    expect(await readFile(join(fx.runDir, "report.html"), "utf8")).not.toContain(">old<");
    await rm(join(fx.runDir, "eval", "scores-old.json"));
  }, 60_000);

  it("retries 429 (Retry-After), 5xx and dropped bodies, and gets the same scores", async () => {
    const faults: ReferenceServerOptions["faults"] = ({ path, count }) =>
      path !== "/v1/completions" ? undefined : count === 2 ? { kind: "status", status: 429, retryAfter: "0" } : count === 5 ? { kind: "status", status: 503 } : count === 9 ? { kind: "drop-mid-body" } : undefined;
    const server = await serve({ faults });
    await rm(join(fx.runDir, ".whp", "cache"), { recursive: true, force: true });
    const run = await cli("eval", "--model", `flaky=${server.url}#unlearned`);
    expect(run.code, run.err).toBe(0);
    expect(run.err).toMatch(/retrying/);
    expectSameScores(await scores("flaky"), await scores("unlearned"));
    // a served model is not compared with the sandbox baseline
    expect((await scores("flaky")).scores.relativePerplexity).toBeUndefined();
  }, 60_000);
});

describe("whp eval with evalModels: in the config (SGLang protocol)", () => {
  it("scores the named served model", async () => {
    const server = await serve({ sglangModel: "unlearned" });
    const raw = parse(await readFile(fx.configPath, "utf8"));
    await writeFile(fx.configPath, stringify({ ...raw, evalModels: { sg: { provider: "sglang", model: "unl-sglang", urls: [server.url] } } }));
    const run = await cli("eval", "--model", "sg");
    expect(run.code, run.err).toBe(0);
    const sg = await scores("sg");
    expect(sg.identity).toMatchObject({ provider: "sglang", model: "unl-sglang" });
    expectSameScores(sg, await scores("unlearned"));
    expect(server.stats.requests["/generate"]).toBeGreaterThan(0);
  }, 60_000);
});

describe("model names", () => {
  it("refuses an unknown name, listing the known ones", async () => {
    const run = await cli("eval", "--model", "nonesuch");
    expect(run.code).toBe(2);
    expect(run.err).toContain('unknown model "nonesuch"');
    expect(run.err).toMatch(/baseline, reinforced, unlearned, oracle/);
  });

  it("refuses a server whose tokenizer differs from the run's", async () => {
    const server = await serve({ tokenizer: { encodeWithSpecial: async (text) => [1, ...[...text].map((c) => c.charCodeAt(0) % 50)], decode: async () => "" } });
    const run = await cli("eval", "--model", `odd=${server.url}#baseline`);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/tokeni[sz]/i);
  });

  it("by default scores the sandbox's models or the run's served ones, then every evalModels: entry", () => {
    const served = { provider: "vllm", model: "m", urls: ["http://x"] };
    const cfg = (models: Record<string, unknown>, evalModels?: Record<string, unknown>) => ({ models, evalModels }) as unknown as ResolvedConfig;
    expect(defaultModelNames(cfg({ baseline: { provider: "ngram" } }, { "unl-7b": served }))).toEqual(["baseline", "reinforced", "unlearned", "oracle", "unl-7b"]);
    expect(defaultModelNames(cfg({ baseline: served, reinforced: served }))).toEqual(["baseline", "reinforced"]);
    expect(defaultModelNames(cfg({ baseline: served, reinforced: served, oracle: served }, { unlearned: served }))).toEqual(["baseline", "reinforced", "oracle", "unlearned"]);
  });

  it("parses <name>=[sglang:]<url>[#model]", () => {
    expect(parseInlineModel("unlearned")).toBeUndefined();
    expect(parseInlineModel("u=http://gpu:8000/")).toEqual({ name: "u", provider: "vllm", url: "http://gpu:8000" });
    expect(parseInlineModel("u=http://gpu:8000#llama-unl")).toEqual({ name: "u", provider: "vllm", url: "http://gpu:8000", model: "llama-unl" });
    expect(parseInlineModel("s=sglang:https://gpu:30000")).toEqual({ name: "s", provider: "sglang", url: "https://gpu:30000" });
    expect(() => parseInlineModel("a/b=http://x")).toThrow(/cannot name a scores file/);
    expect(() => parseInlineModel("u=gpu:8000")).toThrow(/not an http\(s\) URL/);
    expect(() => parseInlineModel("u=http://gpu#")).toThrow(/empty model name/);
  });
});
