import { createHash } from "node:crypto";

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** JSON with object keys sorted at every level: the canonical form hashed for fingerprints and cache
 * keys, so two equal configs hash equally whatever order their keys were written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    // An array of plain values (a request's 512 token ids) is its own canonical form: not copied.
    for (let i = 0; i < value.length; i++) if (value[i] !== null && typeof value[i] === "object") return value.map(sortKeys);
    return value;
  }
  if (value && typeof value === "object" && !(ArrayBuffer.isView(value))) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}

/** A seeded 32-bit generator (mulberry32): small, fast, and the same on every platform. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed derived from several parts (e.g. run seed, block id, term), independent of call order. */
export function deriveSeed(...parts: (string | number)[]): number {
  return parseInt(sha256(parts.join("\u0000")).slice(0, 8), 16);
}
