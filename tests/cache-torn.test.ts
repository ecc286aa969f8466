/**
 * Cache entries are written without an fsync (io/cache-write.ts), so a crash may leave one torn
 * or empty. The next run must detect it by its checksum, count it, warn, and fetch it again; never
 * trust it. Driven the way a run uses the caches: a fresh source from the registry per run, over HTTP.
 */
import { mkdtemp, readdir, readFile, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CachedChat } from "../pipeline/eval/judge.js";
import { settleCacheWrites } from "../pipeline/io/disk-cache.js";
import { AnswerCache } from "../pipeline/models/answer-cache.js";
import { createServedSource } from "../pipeline/models/registry.js";
import { vllmModelSchema } from "../pipeline/models/vllm.js";
import { serversClosedAfterEach, V, plain, randomTokens, tinyModel } from "./helpers/served.js";

const base = tinyModel(3, "base");
const start = serversClosedAfterEach();

async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await readdir(dir)) for (const f of await readdir(join(dir, sub))) if (!f.endsWith(".tmp")) out.push(join(dir, sub, f));
  return out.sort();
}

/** One "run": a new source and caches over the same cache folder. */
function run(url: string, cacheDir: string) {
  const warnings: string[] = [];
  const spec = vllmModelSchema.parse({ provider: "vllm", model: "base", urls: [url], timeoutSeconds: 5 });
  const src = createServedSource(spec, { role: "baseline", vocabSize: V, cacheDir, warn: (m) => warnings.push(m) });
  return { src, warnings };
}

describe("a torn cache entry is refetched, counted and warned about", () => {
  it("rows: an entry cut in half and an empty one are fetched again on the next run, then trusted", async () => {
    const s = await start({ base });
    const cacheDir = await mkdtemp(join(tmpdir(), "whp-cache-"));
    const blocks = [1, 2, 3].map((seed) => randomTokens(seed, 24));
    const first = run(s.url, cacheDir);
    const want = await Promise.all(blocks.map(async (b) => plain(await first.src.rows(b, { topK: 5 }))));
    const requests = () => s.stats.requests["/v1/completions"];
    expect(requests()).toBe(3);
    await settleCacheWrites(); // entries are written in the background

    const files = await entries(join(cacheDir, "vllm"));
    expect(files).toHaveLength(3);
    const size = (await readFile(files[0])).length;
    await truncate(files[0], size >> 1); // torn mid-write
    await truncate(files[1], 0); // renamed, but its data never reached the disk

    const second = run(s.url, cacheDir);
    expect(await Promise.all(blocks.map(async (b) => plain(await second.src.rows(b, { topK: 5 }))))).toEqual(want);
    await settleCacheWrites();
    expect(requests()).toBe(5);
    expect(second.src.cacheStats()).toEqual({ hits: 1, corrupt: 2 });
    expect(second.warnings.filter((w) => /cache entry [0-9a-f]{12} is corrupt \((checksum mismatch|too short)\); fetching it again/.test(w))).toHaveLength(2);

    // Refetched entries were written whole again: the third run asks nothing.
    const third = run(s.url, cacheDir);
    for (const b of blocks) await third.src.rows(b, { topK: 5 });
    expect(requests()).toBe(5);
    expect(third.src.cacheStats()).toEqual({ hits: 3, corrupt: 0 });
    expect(third.warnings).toEqual([]);
  });

  it("answers (the evaluation's cache): a torn entry is asked again, with a warning", async () => {
    const s = await start({ base });
    const cacheDir = await mkdtemp(join(tmpdir(), "whp-cache-"));
    const tokens = randomTokens(9, 16);
    const first = await run(s.url, cacheDir).src.tokenLogprobs(tokens);
    const asked = s.stats.requests["/v1/completions"];
    await settleCacheWrites();
    const [file] = await entries(join(cacheDir, "vllm-answers"));
    await truncate(file, (await readFile(file)).length - 9);
    const again = run(s.url, cacheDir);
    expect(await again.src.tokenLogprobs(tokens)).toEqual(first);
    expect(s.stats.requests["/v1/completions"]).toBe(asked + 1);
    expect(again.warnings.filter((w) => /answer cache entry [0-9a-f]{12} is corrupt/.test(w))).toHaveLength(1);
  });
});

describe("the judge's chat cache: one behaviour with the others", () => {
  it("a torn entry is counted, warned about and asked again; the rewritten one is trusted", async () => {
    const dir = await mkdtemp(join(tmpdir(), "whp-cache-"));
    let asked = 0;
    const inner = { complete: async () => ({ text: `answer ${++asked}`, model: "judge", finishReason: "stop" }) };
    const req = { model: "judge", messages: [{ role: "user" as const, content: "score this" }], temperature: 0, maxTokens: 8 };
    const first = new CachedChat(inner, dir, () => {});
    expect((await first.complete(req)).text).toBe("answer 1");
    await settleCacheWrites();
    const [file] = await entries(dir);
    await truncate(file, (await readFile(file)).length >> 1);

    const warnings: string[] = [];
    const second = new CachedChat(inner, dir, (m) => warnings.push(m));
    expect((await second.complete(req)).text).toBe("answer 2");
    expect([second.calls, second.hits, second.corrupt]).toEqual([1, 0, 1]);
    await settleCacheWrites();
    expect(warnings).toEqual([expect.stringMatching(/^chat cache entry [0-9a-f]{12} is corrupt \(.+\); fetching it again$/)]);

    const third = new CachedChat(inner, dir, (m) => warnings.push(m));
    expect((await third.complete(req)).text).toBe("answer 2");
    expect([third.calls, third.hits, third.corrupt, asked]).toEqual([0, 1, 0, 2]);
  });
});

describe("cache entries are redacted like every other write", () => {
  it("a completion holding a bearer-shaped key is stored without it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "whp-cache-"));
    const secret = "sk-abcdefghijklmnop1234";
    await new AnswerCache(dir).through({ q: 1 }, async () => `the key is ${secret}`, (v) => String(v));
    await settleCacheWrites();
    const [file] = await entries(dir);
    const text = await readFile(file, "utf8");
    expect(text).toContain("the key is");
    expect(text).not.toContain(secret);
    // The checksum is of what was stored: the redacted entry is a hit on the next run, not "corrupt".
    const again = new AnswerCache(dir);
    expect(await again.through({ q: 1 }, async () => "asked again", (v) => String(v))).toMatch(/^the key is (?!sk-)/);
    expect([again.hits, again.corrupt]).toEqual([1, 0]);
  });
});
