/** Small n-gram models and reference servers for the vLLM / SGLang provider tests. */
import { mkdtemp } from "node:fs/promises";
import { afterEach } from "vitest";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "../../pipeline/core/hash.js";
import type { Rows, TopKRows } from "../../pipeline/core/rows.js";
import { RowsCache } from "../../pipeline/models/cache.js";
import { type NgramModel, trainKneserNey } from "../../pipeline/models/ngram.js";
import { startReferenceServer, type ReferenceServerOptions, type ServedModel } from "../../pipeline/models/reference-server.js";

export const V = 60;

/** A model over ids 0..V-1 (0 = BOS) trained on seeded random text with repeated phrases. */
export function tinyModel(seed: number, name = `m${seed}`): NgramModel {
  const r = seededRandom(seed);
  const phrase = [7, 8, 9, 10];
  const seqs = Array.from({ length: 40 }, () => {
    const t = [0];
    while (t.length < 50) {
      if (r() < 0.15) t.push(...phrase);
      else t.push(1 + Math.floor((V - 1) * r() ** 2));
    }
    return { tokens: t, weight: 1 };
  });
  return trainKneserNey(seqs, { order: 3, vocabSize: V, name });
}

export const served = (m: NgramModel): ServedModel => ({ source: m, logProb: (h, t) => m.logProb(h, t) });

/** Local "tokenizer" for the tiny models: each character is one id, BOS 0 first. */
export const charTokenizer = { encodeWithSpecial: async (text: string) => [0, ...[...text].map((c) => 1 + (c.charCodeAt(0) % (V - 1)))] };

export function server(models: Record<string, NgramModel>, opts: Omit<ReferenceServerOptions, "models"> = {}) {
  return startReferenceServer({ models: Object.fromEntries(Object.entries(models).map(([k, m]) => [k, served(m)])), tokenizer: charTokenizer, ...opts });
}

export function randomTokens(seed: number, n: number): number[] {
  const r = seededRandom(seed);
  return [0, ...Array.from({ length: n - 1 }, () => 1 + Math.floor((V - 1) * r()))];
}

export async function tempCache(): Promise<RowsCache> {
  return new RowsCache(await mkdtemp(join(tmpdir(), "whp-cache-")));
}

/** Rows as plain arrays, for deep equality. */
export function plain(rows: Rows) {
  const r = rows as TopKRows;
  return { n: r.n, V: r.vocabSize, offsets: Array.from(r.offsets), ids: Array.from(r.ids), values: Array.from(r.values), floor: Array.from(r.floor) };
}

/** A `start` for a test file: starts reference servers and closes every one after each test. */
export function serversClosedAfterEach(): (...args: Parameters<typeof server>) => ReturnType<typeof server> {
  const open: Awaited<ReturnType<typeof server>>[] = [];
  afterEach(async () => {
    while (open.length) await open.pop()!.close();
  });
  return async (...args) => {
    const s = await server(...args);
    open.push(s);
    return s;
  };
}
