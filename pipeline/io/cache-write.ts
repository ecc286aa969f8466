/**
 * How the response caches write an entry: to a temp file beside it, then renamed over, so a reader
 * sees a whole entry or none; but without an fsync. An fsync per response cost more than the rest of
 * the cache's bookkeeping (the labels stage fsyncs each finished chunk, which is what resume relies
 * on), and an entry a crash leaves torn or empty is caught by its checksum on the next read, counted,
 * warned about and fetched again (tests/cache-torn.test.ts). Not io/artifacts.ts's writeFileAtomic,
 * which fsyncs every write; redacted the same way (core/redact.ts), so no secret reaches a cache.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { redact, redactBytes } from "../core/redact.js";

/** Folders already made by this process (a cache spreads entries over 256 of them). */
const made = new Set<string>();

export async function writeCacheEntry(path: string, data: string | Uint8Array, retried = false): Promise<void> {
  const dir = dirname(path);
  if (!made.has(dir)) {
    await mkdir(dir, { recursive: true });
    made.add(dir);
  }
  // Unique per write: two writers of one entry (two processes sharing a cache) never share a temp.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, typeof data === "string" ? redact(data) : redactBytes(data));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    // The folder may have been removed since (a cleared cache): make it and try once more.
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" || !made.delete(dir) || retried) throw err;
    await writeCacheEntry(path, data, true);
  }
}
