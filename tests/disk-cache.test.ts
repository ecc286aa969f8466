/**
 * The one disk cache (io/disk-cache.ts) every response cache is built on: one fetch for concurrent
 * gets of a key, and one behaviour for a bad entry (counted, warned, fetched again and rewritten).
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { DiskCache, jsonCodec } from "../pipeline/io/disk-cache.js";
import { decodeRows, encodeRows, RowsCache } from "../pipeline/models/cache.js";
import type { TopKRows } from "../pipeline/core/rows.js";

async function jsonCache() {
  const warnings: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), "whp-disk-cache-"));
  return { cache: new DiskCache<unknown, { n: number }>(dir, jsonCodec(), { label: "test cache", warn: (m) => warnings.push(m) }), warnings, dir };
}

const rows = (): TopKRows => ({ kind: "topk", n: 2, vocabSize: 10, offsets: Int32Array.from([0, 1, 2]), ids: Int32Array.from([3, 4]), values: Float32Array.from([-0.5, -1]), floor: Float32Array.from([-9, -9]) });

describe("DiskCache", () => {
  it("two concurrent gets of one key make one fetch, and both get its value", async () => {
    const { cache } = await jsonCache();
    let fetches = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fetch = async () => {
      fetches++;
      await gate;
      return { n: 7 };
    };
    const a = cache.through({ q: 1 }, fetch);
    const b = cache.through({ q: 1 }, fetch);
    release();
    expect(await Promise.all([a, b])).toEqual([{ n: 7 }, { n: 7 }]);
    expect(fetches).toBe(1);
    // Settled: a later get reads the entry written, no fetch.
    expect(await cache.through({ q: 1 }, fetch)).toEqual({ n: 7 });
    expect(fetches).toBe(1);
    expect(cache.hits).toBe(1);
  });

  it("a failed fetch is not remembered: the next get fetches again", async () => {
    const { cache } = await jsonCache();
    await expect(cache.through({ q: 2 }, async () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await cache.through({ q: 2 }, async () => ({ n: 1 }))).toEqual({ n: 1 });
  });

  it("a JSON entry whose value was changed fails its checksum: counted, warned, fetched again, rewritten", async () => {
    const { cache, warnings } = await jsonCache();
    await cache.through({ q: 3 }, async () => ({ n: 1 }));
    await cache.flush();
    const file = cache.fileOf(cache.keyOf({ q: 3 }));
    await writeFile(file, (await readFile(file, "utf8")).replace('"n":1', '"n":2'));
    let fetches = 0;
    expect(await cache.through({ q: 3 }, async () => (fetches++, { n: 1 }))).toEqual({ n: 1 });
    expect(fetches).toBe(1);
    expect(cache.corrupt).toBe(1);
    expect(warnings).toEqual([expect.stringMatching(/^test cache entry [0-9a-f]{12} is corrupt \(checksum mismatch\); fetching it again$/)]);
    await cache.flush();
    expect(JSON.parse(await readFile(file, "utf8")).value).toEqual({ n: 1 });
  });

  it("an entry under another key's name is not trusted", async () => {
    const { cache, dir } = await jsonCache();
    await cache.through({ q: 4 }, async () => ({ n: 4 }));
    await cache.flush();
    const misplaced = cache.fileOf(cache.keyOf({ q: 5 }));
    await mkdir(dirname(misplaced), { recursive: true });
    await writeFile(misplaced, await readFile(cache.fileOf(cache.keyOf({ q: 4 }))));
    // The next run (a cache opened now lists the folder with the planted file in it).
    const next = new DiskCache<unknown, { n: number }>(dir, jsonCodec(), { label: "test cache" });
    expect(await next.through({ q: 5 }, async () => ({ n: 5 }))).toEqual({ n: 5 });
    expect(next.corrupt).toBe(1);
  });

  it("a value the caller's check rejects is treated like a corrupt entry", async () => {
    const { cache, warnings } = await jsonCache();
    await cache.through({ q: 6 }, async () => ({ n: -1 }));
    await cache.flush();
    const check = (v: { n: number }) => {
      if (v.n < 0) throw new Error("negative");
      return v;
    };
    expect(await cache.through({ q: 6 }, async () => ({ n: 6 }), check)).toEqual({ n: 6 });
    expect(cache.corrupt).toBe(1);
    expect(warnings[0]).toMatch(/is corrupt \(negative\); fetching it again/);
  });

  it("binary rows: a flipped byte in the body fails the SHA-256 trailer", async () => {
    const key = "ab".repeat(32);
    const buf = encodeRows(key, rows());
    expect(decodeRows(key, buf)).toMatchObject({ n: 2, vocabSize: 10 });
    buf[60] ^= 1;
    expect(decodeRows(key, buf)).toBe("checksum mismatch");
    const warnings: string[] = [];
    const cache = new RowsCache(await mkdtemp(join(tmpdir(), "whp-disk-cache-")), (m) => warnings.push(m));
    await cache.through({ r: 1 }, async () => rows());
    await cache.flush();
    const file = cache.fileOf(cache.keyOf({ r: 1 }));
    const stored = await readFile(file);
    stored[60] ^= 1;
    await writeFile(file, stored);
    let fetches = 0;
    const again = await cache.through({ r: 1 }, async () => (fetches++, rows()));
    expect(Array.from(again.ids)).toEqual([3, 4]);
    expect([fetches, cache.corrupt, cache.hits]).toEqual([1, 1, 0]);
    expect(warnings).toEqual([expect.stringMatching(/^cache entry [0-9a-f]{12} is corrupt \(checksum mismatch\); fetching it again$/)]);
  });
});
