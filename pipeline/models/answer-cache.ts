/**
 * Cache for the small answers the evaluation asks served models for (a sequence's token log-probs, a
 * greedy completion): JSON entries under a hash of the canonical request, so a killed `whp eval` pays
 * for nothing twice. Built on io/disk-cache.ts (each entry repeats its key and carries the SHA-256 of
 * its value; a torn, garbled, misplaced or invalid entry is counted, warned about and asked again).
 * Rows for labels use the binary RowsCache.
 */
import { z } from "zod";
import { DiskCache, jsonCodec } from "../io/disk-cache.js";

export class AnswerCache extends DiskCache<unknown, unknown> {
  constructor(dir: string, warn?: (message: string) => void) {
    super(dir, jsonCodec<unknown>(), { label: "answer cache", warn });
  }
}

/** `fetch()` through the cache when there is one; `parse` validates a cached answer (a bad one is
 * treated like a checksum failure). */
export function answered<T>(cache: AnswerCache | undefined, request: unknown, fetch: () => Promise<T>, parse: (v: unknown) => T): Promise<T> {
  return cache ? cache.through(request, fetch, parse) : fetch();
}

const logprobsJson = z.array(z.number().nullable());

/** Log-probs through the cache: JSON has no -Infinity, so entries store it as null. */
export async function answeredLogprobs(cache: AnswerCache | undefined, request: unknown, fetch: () => Promise<number[]>): Promise<number[]> {
  const stored = await answered(cache, request, async () => (await fetch()).map((v) => (v === -Infinity ? null : v)), (v) => logprobsJson.parse(v));
  return stored.map((v) => (v === null ? -Infinity : v));
}
