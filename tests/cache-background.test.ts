/**
 * The response cache off the request's critical path (issue 17 item 4, io/disk-cache.ts with
 * io/cache-index.ts and io/cache-queue.ts): a miss the folder's listing rules out reads no file, a
 * fetched value comes back before its entry is written, flush waits for the write, a failed write is
 * counted, warned about and fetched again, the queue is bounded, and a killed run's temps go.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CacheCodec, type CacheIo, DiskCache, jsonCodec } from "../pipeline/io/disk-cache.js";
import { WriteQueue } from "../pipeline/io/cache-queue.js";
import { writeCacheEntry, writeRedactedEntry, type RedactedEntry } from "../pipeline/io/cache-write.js";

type Value = { n: number };

/** A cache over a fresh folder whose file-system calls are counted, and whose writes can be held back. */
async function observed(opts: { dir?: string; writes?: WriteQueue; failWrites?: boolean } = {}) {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "whp-cache-bg-")));
  const calls = { readFile: 0, readdir: 0, writes: 0 };
  const held: (() => void)[] = [];
  let holding = false;
  const io: Partial<CacheIo> = {
    readFile: (p) => (calls.readFile++, readFile(p)),
    readdir: (p) => (calls.readdir++, readdir(p)),
    writeEntry: async (p: string, data: RedactedEntry) => {
      calls.writes++;
      if (holding) await new Promise<void>((r) => held.push(r));
      if (opts.failWrites) throw new Error(`EACCES: permission denied, open '${p}'`);
      await writeRedactedEntry(p, data);
    },
  };
  const warnings: string[] = [];
  const cache = new DiskCache<unknown, Value>(dir, jsonCodec(), { label: "test cache", warn: (m) => warnings.push(m), io, writes: opts.writes });
  return {
    dir,
    cache,
    calls,
    warnings,
    hold: () => (holding = true),
    release: () => {
      holding = false;
      for (const r of held.splice(0)) r();
    },
  };
}

const exists = (path: string) => readFile(path).then(() => true, () => false);

describe("the cache off the request's critical path", () => {
  it("a fetched value is returned while its entry's write is held back; flush waits for the write", async () => {
    const o = await observed();
    o.hold();
    const value = await o.cache.through({ q: 1 }, async () => ({ n: 1 }));
    expect(value).toEqual({ n: 1 });
    expect(o.calls.writes).toBe(1);
    const file = o.cache.fileOf(o.cache.keyOf({ q: 1 }));
    expect(await exists(file)).toBe(false);
    let flushed = false;
    const flush = o.cache.flush().then(() => (flushed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(flushed).toBe(false);
    o.release();
    await flush;
    expect(await exists(file)).toBe(true);
    // A cache opened afterwards (the next run) trusts it.
    const next = await observed({ dir: o.dir });
    expect(await next.cache.through({ q: 1 }, async () => ({ n: 99 }))).toEqual({ n: 1 });
    expect(next.cache.hits).toBe(1);
  });

  it("a repeat request while its entry is pending is answered from the pending bytes: no fetch, no read", async () => {
    const o = await observed();
    o.hold();
    let fetches = 0;
    await o.cache.through({ q: 2 }, async () => (fetches++, { n: 2 }));
    expect(await o.cache.through({ q: 2 }, async () => (fetches++, { n: -2 }))).toEqual({ n: 2 });
    expect([fetches, o.cache.hits, o.calls.readFile]).toEqual([1, 1, 0]);
    o.release();
    await o.cache.flush();
  });

  it("a failed background write is counted and warned about, and the next get fetches again", async () => {
    const o = await observed({ failWrites: true });
    let fetches = 0;
    expect(await o.cache.through({ q: 3 }, async () => (fetches++, { n: 3 }))).toEqual({ n: 3 });
    await o.cache.flush();
    expect(o.cache.writeFailures).toBe(1);
    expect(o.warnings).toEqual([expect.stringMatching(/^test cache entry [0-9a-f]{12} could not be written \(EACCES: permission denied.*\); it will be fetched again$/)]);
    expect(await o.cache.through({ q: 3 }, async () => (fetches++, { n: 3 }))).toEqual({ n: 3 });
    expect(fetches).toBe(2);
  });

  it("misses the folder's listing rules out read no file: a new cache lists once, then reads only hits", async () => {
    const o = await observed();
    for (const q of [1, 2, 3, 4, 5]) await o.cache.through({ q }, async () => ({ n: q }));
    // A new cache's folder does not exist: one readdir (ENOENT), no readFile at all.
    expect([o.calls.readFile, o.calls.readdir]).toEqual([0, 1]);
    await o.cache.flush();
    const next = await observed({ dir: o.dir });
    for (const q of [1, 2, 3, 4, 5, 6, 7]) await next.cache.through({ q }, async () => ({ n: q }));
    expect(next.cache.hits).toBe(5);
    // Five hits read their entry; the two misses read nothing.
    expect(next.calls.readFile).toBe(5);
  });

  it("an entry another process writes after the folder was listed is fetched again and rewritten, harmlessly", async () => {
    const o = await observed();
    await o.cache.through({ q: 1 }, async () => ({ n: 1 })); // lists the (absent) folder
    // Another process writes {q: 2}'s entry now: not through this process's caches.
    const key = o.cache.keyOf({ q: 2 });
    await writeCacheEntry(o.cache.fileOf(key), jsonCodec<Value>().encode(key, { n: 2 }));
    let fetches = 0;
    expect(await o.cache.through({ q: 2 }, async () => (fetches++, { n: 2 }))).toEqual({ n: 2 });
    expect([fetches, o.cache.corrupt, o.cache.hits]).toEqual([1, 0, 0]);
    await o.cache.flush();
    const next = await observed({ dir: o.dir });
    expect(await next.cache.through({ q: 2 }, async () => ({ n: -1 }))).toEqual({ n: 2 });
    expect([next.cache.hits, next.cache.corrupt]).toEqual([1, 0]);
  });

  it("an entry this process wrote after another cache on the folder listed it is found by that cache", async () => {
    const a = await observed();
    const b = await observed({ dir: a.dir });
    await b.cache.through({ q: 0 }, async () => ({ n: 0 })); // b lists the folder: empty
    await b.cache.flush();
    await a.cache.through({ q: 5 }, async () => ({ n: 5 }));
    await a.cache.flush();
    expect(await b.cache.through({ q: 5 }, async () => ({ n: -1 }))).toEqual({ n: 5 });
    expect(b.cache.hits).toBe(1);
  });

  it("entries are redacted before they are queued: the disk and a repeat while pending get no secret, even from a codec that leaves it in", async () => {
    const dir = await mkdtemp(join(tmpdir(), "whp-cache-bg-"));
    const secret = "sk-abcdefghijklmnop1234";
    // A codec that stores the text as it is (jsonCodec redacts on its own; this one relies on the writer).
    const rawText: CacheCodec<string> = { ext: ".txt", encode: (key, v) => `${key}\n${v}`, decode: (key, b) => b.toString("utf8").slice(key.length + 1) };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const io: Partial<CacheIo> = { writeEntry: async (p, data) => (await gate, writeRedactedEntry(p, data)) };
    const cache = new DiskCache<unknown, string>(dir, rawText, { label: "raw cache", io });
    expect(await cache.through({ q: 1 }, async () => `the key is ${secret}`)).toContain(secret); // the caller gets what was fetched
    const again = await cache.through({ q: 1 }, async () => "asked again");
    expect(again).toMatch(/^the key is /);
    expect(again).not.toContain(secret);
    release();
    await cache.flush();
    const text = await readFile(cache.fileOf(cache.keyOf({ q: 1 })), "utf8");
    expect(text).toContain("the key is");
    expect(text).not.toContain(secret);
  });

  it("two writes into a folder removed since this process made it both make it again", async () => {
    const dir = await mkdtemp(join(tmpdir(), "whp-cache-bg-"));
    const sub = join(dir, "ab");
    await writeCacheEntry(join(sub, "first"), "1");
    await rm(sub, { recursive: true });
    await Promise.all([writeCacheEntry(join(sub, "second"), "2"), writeCacheEntry(join(sub, "third"), "3")]);
    expect((await readdir(sub)).sort()).toEqual(["second", "third"]);
  });

  it("the write queue is bounded: with its places taken, the next caller waits for one to be freed", async () => {
    const o = await observed({ writes: new WriteQueue({ concurrency: 1, maxEntries: 2, maxBytes: 1 << 20 }) });
    o.hold();
    await o.cache.through({ q: 1 }, async () => ({ n: 1 }));
    await o.cache.through({ q: 2 }, async () => ({ n: 2 }));
    let third = false;
    const t = o.cache.through({ q: 3 }, async () => ({ n: 3 })).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    expect(o.calls.writes).toBe(1); // one at a time
    o.release(); // and writes are no longer held
    await t;
    await o.cache.flush();
    expect(o.calls.writes).toBe(3);
  });

  it("listing a subfolder removes the temps of a process that is gone, not this process's own", async () => {
    const o = await observed();
    const key = o.cache.keyOf({ q: 8 });
    const sub = join(o.dir, key.slice(0, 2));
    await mkdir(sub, { recursive: true });
    // 2^22 + 1 is above Linux's largest pid, so no process has it.
    const dead = `${key}.json.${4194305}.a1b2c3d4e5f6.tmp`;
    const mine = `${key}.json.${process.pid}.0a0b0c0d0e0f.tmp`;
    for (const name of [dead, mine]) await writeFile(join(sub, name), "half an entry");
    await o.cache.through({ q: 8 }, async () => ({ n: 8 }));
    await o.cache.flush();
    const left = await readdir(sub);
    expect(left).not.toContain(dead);
    expect(left).toContain(mine);
    expect(left).toContain(`${key}.json`);
  });
});
