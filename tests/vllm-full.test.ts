/** logits.topK: full over real HTTP: the vLLM provider against the reference server (every row of the
 * 32,000-token vocabulary, from the prompt path) gives labels byte-identical to the in-process
 * full-row run. A small corpus: each response is ~75 bytes per vocabulary entry per position. */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { loadConfig } from "../pipeline/config.js";
import { memoryLogger } from "../pipeline/io/log.js";
import type { NgramModel } from "../pipeline/models/ngram.js";
import { startReferenceServer, type ReferenceServer } from "../pipeline/models/reference-server.js";
import { createContext } from "../pipeline/stage.js";
import { loadSources } from "../pipeline/stages/labels.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";
import { cli } from "./helpers/capture.js";

let fx: Fixture;
let server: ReferenceServer;


beforeAll(async () => {
  fx = await makeFixture({ blockSize: 24, logits: { topK: "full", chunkBlocks: 2 } }, { forgetChars: 260, generalChars: 6000 });
  const r = await cli("run", "--config", fx.configPath, "--quiet");
  expect(r.code, r.stderr).toBe(0);
  const ctx = createContext(await loadConfig(fx.configPath), memoryLogger());
  const models = (await loadSources(ctx, ["baseline", "reinforced"])) as Record<string, NgramModel>;
  const tok = await ctx.tokenizer();
  server = await startReferenceServer({
    models: Object.fromEntries(Object.entries(models).map(([k, m]) => [k, { source: m, logProb: (h: readonly number[], t: number) => m.logProb(h, t) }])),
    tokenizer: { encodeWithSpecial: async (text) => [...tok.info.prefixSpecialIds, ...(await tok.encodeIds(text))] },
    maxLogprobs: -1,
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

it("topK full over HTTP: labels.jsonl, labels-uncertainty.jsonl and train.jsonl byte-identical to the in-process run", async () => {
  const raw = parse(await readFile(fx.configPath, "utf8"));
  const cfg = join(fx.dir, "full-http.yaml");
  const spec = (model: string) => ({ provider: "vllm", model, urls: [server.url], maxLogprobs: -1, concurrency: 2 });
  await writeFile(cfg, stringify({ ...raw, run: { name: "full-http", outDir: "full-http" }, models: { baseline: spec("baseline"), reinforced: spec("reinforced") } }));
  const r = await cli("run", "--config", cfg);
  expect(r.code, r.stderr).toBe(0);
  for (const f of ["labels.jsonl", "labels-uncertainty.jsonl", "train.jsonl"]) {
    expect(await readFile(join(fx.dir, "full-http", f), "utf8"), f).toBe(await readFile(join(fx.dir, "out", f), "utf8"));
  }
  const meta = JSON.parse(await readFile(join(fx.dir, "full-http", "labels-meta.json"), "utf8"));
  expect(meta.topK).toBe("full");
  expect(meta.logitSpace).toBe("logprobs"); // detected: full rows log-sum-exp to 0
  expect(r.stderr).not.toMatch(/prefix caching/);
}, 300_000);
