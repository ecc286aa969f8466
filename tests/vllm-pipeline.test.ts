/** The labels stage over real HTTP: vLLM and SGLang providers against the reference server, which
 * answers from the same embedded n-grams, must give the same labels as the in-process run. */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { stringify, parse } from "yaml";
import { main } from "../pipeline/cli.js";
import { loadConfig } from "../pipeline/config.js";
import { memoryLogger } from "../pipeline/io/log.js";
import type { NgramModel } from "../pipeline/models/ngram.js";
import { startReferenceServer, type ReferenceServer, type ReferenceServerOptions } from "../pipeline/models/reference-server.js";
import { createContext } from "../pipeline/stage.js";
import { loadSources } from "../pipeline/stages/labels.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";
import { cli } from "./helpers/capture.js";

let fx: Fixture;
let models: Record<string, NgramModel>;
let encode: (text: string) => Promise<number[]>;
const servers: ReferenceServer[] = [];


async function serve(opts: Partial<ReferenceServerOptions> = {}): Promise<ReferenceServer> {
  const s = await startReferenceServer({
    models: Object.fromEntries(Object.entries(models).map(([k, m]) => [k, { source: m, logProb: (h: readonly number[], t: number) => m.logProb(h, t) }])),
    tokenizer: { encodeWithSpecial: encode },
    ...opts,
  });
  servers.push(s);
  return s;
}

/** A copy of the fixture's config with other models and its own run folder. */
async function variant(name: string, modelsSpec: Record<string, unknown>, extra: Record<string, unknown> = {}, outDir = name): Promise<string> {
  const raw = parse(await readFile(fx.configPath, "utf8"));
  const path = join(fx.dir, `${name}.yaml`);
  await writeFile(path, stringify({ ...raw, run: { name: outDir, outDir }, models: modelsSpec, ...extra }));
  return path;
}

const bytes = (dir: string, file: string) => readFile(join(fx.dir, dir, file), "utf8");

beforeAll(async () => {
  fx = await makeFixture();
  expect((await cli("run", "--config", fx.configPath, "--quiet")).code).toBe(0);
  const ctx = createContext(await loadConfig(fx.configPath), memoryLogger());
  models = (await loadSources(ctx, ["baseline", "reinforced"])) as Record<string, NgramModel>;
  const tok = await ctx.tokenizer();
  encode = async (text) => [...tok.info.prefixSpecialIds, ...(await tok.encodeIds(text))];
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.close();
});

describe("labels over HTTP equal the embedded run", () => {
  it("vllm provider: same labels.jsonl and train.jsonl bytes; a re-run is answered from the cache", async () => {
    const s = await serve();
    const cfg = await variant("http", {
      baseline: { provider: "vllm", model: "baseline", urls: [s.url] },
      reinforced: { provider: "vllm", model: "reinforced", urls: [s.url] },
    });
    const r = await cli("run", "--config", cfg);
    expect(r.code, r.stderr).toBe(0);
    expect(await bytes("http", "labels.jsonl")).toBe(await bytes("out", "labels.jsonl"));
    expect(await bytes("http", "train.jsonl")).toBe(await bytes("out", "train.jsonl"));
    const meta = JSON.parse(await bytes("http", "labels-meta.json"));
    expect(meta.models.baseline).toMatchObject({ provider: "vllm", model: "baseline", logprobsMode: "raw_logprobs" });
    expect(meta.logitSpace).toBe("logprobs");
    expect(s.stats.requests["/tokenize"]).toBeGreaterThan(0);

    // A run killed after its requests (outputs and chunks lost) repeats none of them.
    const requests = s.stats.requests["/v1/completions"];
    await rm(join(fx.dir, "http", "labels.jsonl"));
    await rm(join(fx.dir, "http", ".whp", "labels.parts"), { recursive: true, force: true });
    const again = await cli("labels", "--config", cfg, "--force");
    expect(again.code, again.stderr).toBe(0);
    // Only the probe is asked again (3 requests per model: the space and prefix-caching checks).
    expect(s.stats.requests["/v1/completions"]).toBe(requests + 6);
    expect(await bytes("http", "labels.jsonl")).toBe(await bytes("out", "labels.jsonl"));
  }, 60_000);

  it("sglang provider (one server per model, as SGLang serves one): same labels.jsonl bytes", async () => {
    const b = await serve({ sglangModel: "baseline" });
    const r = await serve({ sglangModel: "reinforced" });
    const cfg = await variant("sglang", {
      baseline: { provider: "sglang", model: "baseline", urls: [b.url] },
      reinforced: { provider: "sglang", model: "reinforced", urls: [r.url] },
    });
    const out = await cli("run", "--config", cfg);
    expect(out.code, out.stderr).toBe(0);
    expect(await bytes("sglang", "labels.jsonl")).toBe(await bytes("out", "labels.jsonl"));
    expect(b.stats.requests["/generate"]).toBeGreaterThan(0);
  }, 60_000);

  it("replicas share the work and the labels do not change", async () => {
    const a = await serve();
    const b = await serve();
    const cfg = await variant("replicas", {
      baseline: { provider: "vllm", model: "baseline", urls: [a.url, b.url], concurrency: 2 },
      reinforced: { provider: "vllm", model: "reinforced", urls: [b.url, a.url], concurrency: 2 },
    });
    const out = await cli("run", "--config", cfg, "--quiet");
    expect(out.code, out.stderr).toBe(0);
    expect(await bytes("replicas", "labels.jsonl")).toBe(await bytes("out", "labels.jsonl"));
    expect(a.stats.requests["/v1/completions"]).toBeGreaterThan(0);
    expect(b.stats.requests["/v1/completions"]).toBeGreaterThan(0);
  }, 60_000);
});

describe("checks before any heavy work", () => {
  it("a server whose tokenizer differs stops the run with a clear message and no completion request", async () => {
    const s = await serve({ tokenizer: { encodeWithSpecial: async (text) => (await encode(text)).slice(1) } }); // no BOS
    const cfg = await variant("mismatch", {
      baseline: { provider: "vllm", model: "baseline", urls: [s.url] },
      reinforced: { provider: "vllm", model: "reinforced", urls: [s.url] },
    });
    const out = await cli("run", "--config", cfg);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/tokenizes differently from the local tokenizer\.json/);
    expect(s.stats.requests["/v1/completions"]).toBeUndefined();
  }, 60_000);

  it("a block longer than the server's max_model_len is an error before work starts", async () => {
    const s = await serve({ maxModelLen: 100 }); // blocks are 128 tokens
    const cfg = await variant("toolong", {
      baseline: { provider: "vllm", model: "baseline", urls: [s.url] },
      reinforced: { provider: "vllm", model: "reinforced", urls: [s.url] },
    });
    const out = await cli("run", "--config", cfg);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/accepts at most 98 tokens/); // the block, vLLM's extra token and the generated one
    expect(s.stats.requests["/v1/completions"]).toBeUndefined();
  }, 60_000);

  it("a topK above the server's --max-logprobs names the flag", async () => {
    const s = await serve();
    const cfg = await variant("maxlp", {
      baseline: { provider: "vllm", model: "baseline", urls: [s.url] },
      reinforced: { provider: "vllm", model: "reinforced", urls: [s.url] },
    }, { logits: { topK: 30, chunkBlocks: 2 } });
    const out = await cli("run", "--config", cfg);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--max-logprobs 30/);
  }, 60_000);
});

describe("sharding", () => {
  it("--shard i/n runs and `whp merge` give the same bytes as an unsharded run; a missing shard is reported", async () => {
    const cfg = await variant("sharded", parse(await readFile(fx.configPath, "utf8")).models);
    expect((await cli("run", "--config", cfg, "--quiet")).code).toBe(0);
    await rm(join(fx.dir, "sharded", "labels.jsonl"));
    await rm(join(fx.dir, "sharded", ".whp", "labels.json"));
    expect((await cli("labels", "--config", cfg, "--quiet", "--shard", "0/3")).code).toBe(0);
    expect((await cli("labels", "--config", cfg, "--quiet", "--shard", "2/3")).code).toBe(0);
    const missing = await cli("merge", "--config", cfg);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing \(first: chunk 1, from shard 1\/3\)/);
    expect((await cli("labels", "--config", cfg, "--quiet", "--shard", "1/3")).code).toBe(0);
    const merged = await cli("merge", "--config", cfg, "--quiet");
    expect(merged.code, merged.stderr).toBe(0);
    expect(await bytes("sharded", "labels.jsonl")).toBe(await bytes("out", "labels.jsonl"));
    expect(await bytes("sharded", "labels-meta.json")).toBe(await bytes("out", "labels-meta.json"));
    expect(await bytes("sharded", "labels-uncertainty.jsonl")).toBe(await bytes("out", "labels-uncertainty.jsonl"));
    expect((await cli("labels", "--config", cfg, "--shard", "3/3")).code).toBe(2);
  }, 60_000);

  it("machines reaching the models through their own replicas make shards that merge into the same bytes", async () => {
    const a = await serve();
    const b = await serve();
    const spec = (urls: string[]) => ({
      baseline: { provider: "vllm", model: "baseline", urls },
      reinforced: { provider: "vllm", model: "reinforced", urls, concurrency: 3 },
    });
    const m0 = await variant("machine0", spec([a.url]), {}, "multi");
    const m1 = await variant("machine1", spec([b.url]), {}, "multi");
    const merger = await variant("merger", spec([a.url, b.url]), {}, "multi");
    for (const s of ["ingest", "tokenize", "dictionary", "translate"]) expect((await cli(s, "--config", m0, "--quiet")).code).toBe(0);
    expect((await cli("labels", "--config", m0, "--quiet", "--shard", "0/2")).code).toBe(0);
    expect((await cli("labels", "--config", m1, "--quiet", "--shard", "1/2")).code).toBe(0);
    const before = (a.stats.requests["/v1/completions"] ?? 0) + (b.stats.requests["/v1/completions"] ?? 0);
    const merged = await cli("merge", "--config", merger, "--quiet");
    expect(merged.code, merged.stderr).toBe(0);
    expect((a.stats.requests["/v1/completions"] ?? 0) + (b.stats.requests["/v1/completions"] ?? 0)).toBe(before); // merging asks no model
    expect(a.stats.requests["/v1/completions"]).toBeGreaterThan(0);
    expect(b.stats.requests["/v1/completions"]).toBeGreaterThan(0);
    expect(await bytes("multi", "labels.jsonl")).toBe(await bytes("out", "labels.jsonl"));
    expect(await bytes("multi", "labels-uncertainty.jsonl")).toBe(await bytes("out", "labels-uncertainty.jsonl"));
    // The merge recorded the stage: a run now skips labels and goes on to export.
    const run = await cli("run", "--config", merger);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/labels: up to date, skipped/);
  }, 60_000);

  it("the CLI lists serve and merge, and labels takes --shard", async () => {
    const spy = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await main(["node", "whp", "--help"]);
      await main(["node", "whp", "labels", "--help"]);
      const out = spy.mock.calls.map((c) => String(c[0])).join("");
      expect(out).toMatch(/serve/);
      expect(out).toMatch(/merge/);
      expect(out).toMatch(/--shard <i\/n>/);
    } finally {
      spy.mockRestore();
    }
  });
});
