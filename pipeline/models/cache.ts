/**
 * Response cache for model servers: every parsed response is stored under a hash of the canonical
 * request (model identity, token ids, k), so a killed or repeated run never pays for a request twice.
 *
 * Entries are binary (parsing JSON again would cost more than the request's bookkeeping) and
 * self-checking: the file ends with the SHA-256 of everything before it, and the header repeats the
 * key. A truncated, garbled or misplaced entry fails the check and is refetched, never trusted
 * (counted and warned about: the one corrupt-entry behaviour of io/disk-cache.ts, which this codec plugs into).
 * Layout: "WHPR" | u32 version | 32-byte key | u32 n | u32 vocabSize | u32 entries |
 *         i32 offsets[n+1] | i32 ids[entries] | f32 values[entries] | f32 floor[n] | 32-byte sha256.
 */
import { createHash } from "node:crypto";
import { CorruptEntry, DiskCache, type CacheCodec } from "../io/disk-cache.js";
import { hashJson } from "../core/hash.js";
import type { TopKRows } from "../core/rows.js";

const MAGIC = 0x52504857; // "WHPR" little-endian
const VERSION = 1;
const HEADER = 4 + 4 + 32 + 12;

export function cacheKey(request: unknown): string {
  return hashJson(request);
}

export function encodeRows(key: string, rows: TopKRows): Buffer {
  const entries = rows.offsets[rows.n];
  const size = HEADER + 4 * (rows.n + 1) + 8 * entries + 4 * rows.n;
  const buf = Buffer.allocUnsafe(size + 32); // every byte is written below
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(VERSION, 4);
  Buffer.from(key, "hex").copy(buf, 8);
  buf.writeUInt32LE(rows.n, 40);
  buf.writeUInt32LE(rows.vocabSize, 44);
  buf.writeUInt32LE(entries, 48);
  let at = HEADER;
  const put = (a: Int32Array | Float32Array, count: number) => {
    Buffer.from(a.buffer, a.byteOffset, count * 4).copy(buf, at);
    at += count * 4;
  };
  put(rows.offsets, rows.n + 1);
  put(rows.ids, entries);
  put(rows.values, entries);
  put(rows.floor, rows.n);
  createHash("sha256").update(buf.subarray(0, size)).digest().copy(buf, size);
  return buf;
}

/** The rows in `buf`, or a reason it cannot be trusted. */
export function decodeRows(key: string, buf: Buffer): TopKRows | string {
  if (buf.length < HEADER + 32) return "too short";
  const body = buf.subarray(0, buf.length - 32);
  if (!createHash("sha256").update(body).digest().equals(buf.subarray(buf.length - 32))) return "checksum mismatch";
  if (buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) return `expected format WHPR v${VERSION}`;
  if (buf.subarray(8, 40).toString("hex") !== key) return "entry belongs to another request";
  const n = buf.readUInt32LE(40);
  const vocabSize = buf.readUInt32LE(44);
  const entries = buf.readUInt32LE(48);
  if (body.length !== HEADER + 4 * (n + 1) + 8 * entries + 4 * n) return "length does not match its header";
  let at = HEADER;
  // Copies (not views) keep each array 4-byte aligned whatever the Buffer pool offset is.
  const take = <T extends Int32Array | Float32Array>(Ctor: new (b: ArrayBuffer) => T, count: number): T => {
    const out = new Ctor(new ArrayBuffer(count * 4));
    Buffer.from(out.buffer).set(buf.subarray(at, at + count * 4));
    at += count * 4;
    return out;
  };
  const offsets = take(Int32Array, n + 1);
  const ids = take(Int32Array, entries);
  const values = take(Float32Array, entries);
  const floor = take(Float32Array, n);
  if (offsets[n] !== entries) return "offsets do not match the entry count";
  return { kind: "topk", n, vocabSize, offsets, ids, values, floor };
}

/** The binary rows format as a DiskCache codec: its checksum trailer and key header are the check. */
export const rowsCodec: CacheCodec<TopKRows> = {
  ext: ".rows",
  encode: encodeRows,
  decode: (key, buf) => {
    const rows = decodeRows(key, buf);
    return typeof rows === "string" ? new CorruptEntry(rows) : rows;
  },
};

/** Rows for labels, one binary entry per request (io/disk-cache.ts: hits, corrupt, in-flight dedupe). */
export class RowsCache extends DiskCache<unknown, TopKRows> {
  constructor(dir: string, warn?: (message: string) => void) {
    super(dir, rowsCodec, { label: "cache", warn });
  }
}

/** Cache in front of a fetch: returns the cached rows or fetches, stores and returns them; a duplicate
 * block in flight waits for the first fetch. */
export function cached(cache: RowsCache | undefined, request: unknown, fetchRows: () => Promise<TopKRows>): Promise<TopKRows> {
  return cache ? cache.through(request, fetchRows) : fetchRows();
}
