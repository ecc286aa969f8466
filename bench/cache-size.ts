/**
 * The response cache's real size per token per model, on the served path: the demo's settings
 * (blockSize 512, top-20, chunkBlocks 8) over a slice of the demo corpus, the labels stage run over
 * HTTP against the reference server (what `whp serve` starts) with both roles on vLLM, then every
 * cache entry's bytes divided by the tokens the entries cover (original tokens for the reinforced
 * model, translated ones for the baseline). Prints the file bytes and what the disk allocates
 * (st_blocks). Run: npx tsx bench/cache-size.ts
 */
import { readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { main } from "../pipeline/cli.js";
import { loadConfig } from "../pipeline/config.js";
import { memoryLogger } from "../pipeline/io/log.js";
import type { NgramModel } from "../pipeline/models/ngram.js";
import { startReferenceServer } from "../pipeline/models/reference-server.js";
import { createContext } from "../pipeline/stage.js";
import { loadSources } from "../pipeline/stages/labels.js";
import { makeFixture } from "../tests/helpers/fixture.js";

const fx = await makeFixture({ blockSize: 512, logits: { topK: 20, chunkBlocks: 8 } }, { forgetChars: 40_000, generalChars: 60_000 });
if ((await main(["node", "whp", "run", "--config", fx.configPath, "--quiet"])) !== 0) throw new Error("embedded run failed");
const ctx = createContext(await loadConfig(fx.configPath), memoryLogger());
const models = (await loadSources(ctx, ["baseline", "reinforced"])) as Record<string, NgramModel>;
const tok = await ctx.tokenizer();
const server = await startReferenceServer({
  models: Object.fromEntries(Object.entries(models).map(([k, m]) => [k, { source: m, logProb: (h: readonly number[], t: number) => m.logProb(h, t) }])),
  tokenizer: { encodeWithSpecial: async (text) => [...tok.info.prefixSpecialIds, ...(await tok.encodeIds(text))] },
});
const raw = parse(await readFile(fx.configPath, "utf8"));
const served = join(fx.dir, "served.yaml");
await writeFile(served, stringify({ ...raw, run: { name: "served", outDir: "served" }, models: { baseline: { provider: "vllm", model: "baseline", urls: [server.url] }, reinforced: { provider: "vllm", model: "reinforced", urls: [server.url] } } }));
if ((await main(["node", "whp", "run", "--config", served, "--quiet"])) !== 0) throw new Error("served run failed");
await server.close();

const lines = async (file: string) => (await readFile(join(fx.dir, "served", file), "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l));
const original = (await lines("blocks.jsonl")).reduce((n, b) => n + b.input_ids.length, 0);
const translated = (await lines("aligned.jsonl")).reduce((n, a) => n + a.translated_ids.length, 0);
const cacheDir = join(fx.dir, "served", ".whp", "cache", "vllm");
let files = 0;
let bytes = 0;
let allocated = 0;
for (const sub of await readdir(cacheDir)) {
  for (const f of await readdir(join(cacheDir, sub))) {
    const s = await stat(join(cacheDir, sub, f));
    files++;
    bytes += s.size;
    allocated += s.blocks * 512;
  }
}
const tokens = original + translated;
console.log(`blocks of 512, top-20: ${files} entries for ${tokens} tokens (${original} original + ${translated} translated)`);
console.log(`cache file bytes: ${bytes} = ${(bytes / tokens).toFixed(1)} bytes per token per model; allocated on disk: ${allocated} = ${(allocated / tokens).toFixed(1)} bytes per token per model`);
