/**
 * How the response caches write an entry: to a temp file beside it, then renamed over, so a reader
 * sees a whole entry or none; but without an fsync. An fsync per response cost more than the rest of
 * the cache's bookkeeping (the labels stage fsyncs each finished chunk, which is what resume relies
 * on), and an entry a crash leaves torn or empty is caught by its checksum on the next read, counted,
 * warned about and fetched again (tests/cache-torn.test.ts). Not io/artifacts.ts's writeFileAtomic,
 * which fsyncs every write; redacted the same way (core/redact.ts), so no secret reaches a cache.
 *
 * The temp is `<entry>.<pid>.<hex>.tmp`, io/artifacts.ts's tempPathFor form: a killed run's leftovers
 * are removed by the next process that lists the folder (io/cache-index.ts), never a live writer's.
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { dirname } from "node:path";
import { redact, redactBytes } from "../core/redact.js";
import { tempPathFor } from "./artifacts.js";

/** Entry bytes that went through redactEntry: the only thing writeRedactedEntry accepts, so an
 * unredacted entry cannot reach the disk by mistake. */
export type RedactedEntry = (string | Uint8Array) & { readonly __redacted: true };

export function redactEntry(data: string | Uint8Array): RedactedEntry {
  if (typeof data === "string") return redact(data) as RedactedEntry;
  // Bytes that are not UTF-8 (a binary rows entry, always in practice) are what redactBytes leaves
  // untouched anyway (it rewrites text only); isUtf8 tells in ~4 µs per 86 KB entry where redactBytes'
  // own search of the bytes took ~50 µs.
  return (isUtf8(data) ? redactBytes(data) : data) as RedactedEntry;
}

export const entryBytes = (data: RedactedEntry): number => (typeof data === "string" ? Buffer.byteLength(data) : data.byteLength);

/** Folders already made by this process (a cache spreads entries over 256 of them). */
const made = new Set<string>();

export async function writeRedactedEntry(path: string, data: RedactedEntry, retried = false): Promise<void> {
  const dir = dirname(path);
  if (!made.has(dir)) {
    await mkdir(dir, { recursive: true });
    made.add(dir);
  }
  // Unique per write: two writers of one entry (two processes sharing a cache) never share a temp.
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    // The folder may have been removed since (a cleared cache): make it and try once more. Not
    // conditional on `made` still holding it: two writes into one removed folder both retry (the
    // second used to fail because the first had already taken the folder out of `made`).
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" || retried) throw err;
    made.delete(dir);
    await writeRedactedEntry(path, data, true);
  }
}

/** Redacts, then writes (whole-or-nothing, no fsync). */
export function writeCacheEntry(path: string, data: string | Uint8Array): Promise<void> {
  return writeRedactedEntry(path, redactEntry(data));
}
