/**
 * File hashes that trust size and mtime, the way git's index and make do: a file whose size and
 * modification time are the ones recorded with its hash is taken to have that hash, and only other
 * files are read and hashed again. A finished run checked again (`whp run` with nothing changed) then
 * reads no artifact byte (issue 17: it re-hashed 255 MB at 16x the demo).
 *
 * The trade-off, stated: a file rewritten to the same size with its mtime put back (utimes, `cp -p`
 * of another file, a clock set backwards), or rewritten to the same size within the same timestamp
 * tick as the stamp (the kernel's clock tick, a few ms; a second on some filesystems), is taken as
 * unchanged. `verify` (`whp run --verify`) hashes every file regardless. git's index makes the same
 * bet; unlike git there is no "racy" re-check, because the runner writes no record on a no-op run
 * and a stamp that is never trusted would be re-hashed on every run.
 */
import { stat } from "node:fs/promises";
import { z } from "zod";
import { fileSha256 } from "./artifacts.js";

export const fileStampSchema = z.object({
  size: z.number(),
  mtimeMs: z.number(),
  sha256: z.string(),
});
export type FileStamp = z.infer<typeof fileStampSchema>;

/** A file's size and mtime as one string to compare ("unchanged since" checks that trust size and
 * mtime, as the hasher below does), or undefined when the file is not there. */
export async function sizeAndMtime(path: string): Promise<string | undefined> {
  const s = await stat(path).catch(() => undefined);
  return s && `${s.size}:${s.mtimeMs}`;
}

export interface StampedHasher {
  /** The file's sha256, from its recorded stamp when size and mtime match, else read and hashed. */
  hash(path: string, key: string): Promise<string>;
  /** The stamps of every file hashed through this hasher, by key. */
  readonly stamps: Record<string, FileStamp>;
  /** What was actually read: files and bytes (0 when every stamp was trusted). */
  readonly hashed: { files: number; bytes: number };
}

export function stampedHasher(previous: Readonly<Record<string, FileStamp>>, opts: { verify?: boolean } = {}): StampedHasher {
  const stamps: Record<string, FileStamp> = {};
  const hashed = { files: 0, bytes: 0 };
  return {
    stamps,
    hashed,
    async hash(path, key) {
      // stat comes before the read, so a write during hashing leaves a newer mtime than the stamp's and
      // is re-hashed next time.
      const st = await stat(path);
      const prev = previous[key];
      const trusted = !opts.verify && prev !== undefined && prev.size === st.size && prev.mtimeMs === st.mtimeMs;
      let sha256: string;
      if (trusted) sha256 = prev.sha256;
      else {
        sha256 = await fileSha256(path);
        hashed.files++;
        hashed.bytes += st.size;
      }
      stamps[key] = trusted ? prev : { size: st.size, mtimeMs: st.mtimeMs, sha256 };
      return sha256;
    },
  };
}
