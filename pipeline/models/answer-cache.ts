/**
 * Cache for the small answers the evaluation asks served models for (a sequence's token log-probs, a
 * greedy completion): JSON files under a hash of the canonical request, so a killed `whp eval` pays
 * for nothing twice. Each entry repeats its key and carries the SHA-256 of its value; a truncated,
 * garbled or misplaced entry is refetched, never trusted. (Rows for labels use the binary RowsCache.)
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeCacheEntry } from "./cache-write.js";
import { canonicalJson, hashJson } from "../core/hash.js";

const entrySchema = z.object({ v: z.literal(1), key: z.string(), sha256: z.string(), value: z.unknown() });

const digest = (value: unknown) => createHash("sha256").update(canonicalJson(value)).digest("hex");

export class AnswerCache {
  hits = 0;
  corrupt = 0;
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(
    readonly dir: string,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  private file(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  private async get(key: string): Promise<{ value: unknown } | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(key), "utf8");
    } catch {
      return undefined;
    }
    let problem: string | undefined;
    try {
      const e = entrySchema.parse(JSON.parse(text));
      if (e.key !== key) problem = "entry belongs to another request";
      else if (e.sha256 !== digest(e.value)) problem = "checksum mismatch";
      else {
        this.hits++;
        return { value: e.value };
      }
    } catch (err) {
      problem = (err as Error).message.split("\n")[0];
    }
    this.corrupt++;
    this.warn(`answer cache entry ${key.slice(0, 12)} is corrupt (${problem}); asking again`);
    return undefined;
  }

  /** The cached answer to `request`, or `fetch()`'s, stored first. `parse` validates both paths. */
  async through<T>(request: unknown, fetch: () => Promise<T>, parse: (v: unknown) => T): Promise<T> {
    const key = hashJson(request);
    const running = this.inflight.get(key);
    if (running) return running as Promise<T>;
    const task = (async () => {
      const hit = await this.get(key);
      if (hit) {
        try {
          return parse(hit.value);
        } catch (err) {
          // Same as a checksum failure: counted, warned about, asked again.
          this.corrupt++;
          this.warn(`answer cache entry ${key.slice(0, 12)} does not hold a valid answer (${(err as Error).message.split("\n")[0].slice(0, 120)}); asking again`);
        }
      }
      const value = await fetch();
      // Redacted (a completion is text a model may have filled with a key it saw) and not fsynced: cache-write.ts.
      await writeCacheEntry(this.file(key), `${JSON.stringify({ v: 1, key, sha256: digest(value), value })}\n`);
      return value;
    })();
    this.inflight.set(key, task);
    try {
      return await task;
    } finally {
      this.inflight.delete(key);
    }
  }
}

/** `fetch()` through the cache when there is one. */
export function answered<T>(cache: AnswerCache | undefined, request: unknown, fetch: () => Promise<T>, parse: (v: unknown) => T): Promise<T> {
  return cache ? cache.through(request, fetch, parse) : fetch();
}

const logprobsJson = z.array(z.number().nullable());

/** Log-probs through the cache: JSON has no -Infinity, so entries store it as null. */
export async function answeredLogprobs(cache: AnswerCache | undefined, request: unknown, fetch: () => Promise<number[]>): Promise<number[]> {
  const stored = await answered(cache, request, async () => (await fetch()).map((v) => (v === -Infinity ? null : v)), (v) => logprobsJson.parse(v));
  return stored.map((v) => (v === null ? -Infinity : v));
}
