/**
 * One file of the dataset folder written row by row, plain or gzip, so a layout is never built as one
 * string (issue 17: export memory flat in corpus size). The folder itself is staged and swapped in
 * whole (replaceDirStaged), so these files need no rename of their own to be atomic; a plain file
 * still goes through openAtomicWriter (redacted, fsynced) and a gzip one is redacted before it is
 * compressed, as a secret in compressed bytes could not be found afterwards.
 */
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { createHash } from "node:crypto";
import { createGzip } from "node:zlib";
import { redact } from "../core/redact.js";
import { openAtomicWriter } from "../io/artifacts.js";

export interface DatasetFileWriter {
  write(text: string): Promise<void>;
  /** Flushes, fsyncs and closes; the sha256 and size of the bytes on disk. */
  close(): Promise<{ sha256: string; bytes: number }>;
  abort(): Promise<void>;
}

export async function openDatasetFile(path: string, gzip: boolean): Promise<DatasetFileWriter> {
  if (!gzip) {
    const w = await openAtomicWriter(path);
    return { write: (t) => w.write(t), close: () => w.commit(), abort: () => w.abort() };
  }
  return openGzipFile(path);
}

/** Pieces of text gathered before one call into zlib (as openAtomicWriter buffers its writes). */
const GZIP_BUFFER = 1 << 20;

/**
 * Streamed gzip, level 9, with the header's OS byte set to 255 as gzipDeterministic does: zlib's
 * deflate emits the same stream whatever the input's chunking (it waits for its lookahead without a
 * flush), so these bytes equal gzipDeterministic of the whole text (tests/export-dataset.test.ts).
 */
async function openGzipFile(path: string): Promise<DatasetFileWriter> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, "wx");
  const gz = createGzip({ level: 9 });
  const hash = createHash("sha256");
  let bytes = 0;
  let disk: Promise<unknown> = Promise.resolve();
  let failed: Error | undefined;
  gz.on("data", (chunk: Buffer) => {
    // Byte 9 of the stream is the header's OS code (RFC 1952); zlib writes its platform's.
    if (bytes <= 9 && bytes + chunk.length > 9) chunk[9 - bytes] = 0xff;
    hash.update(chunk);
    bytes += chunk.length;
    disk = disk.then(() => handle.write(chunk));
  });
  gz.on("error", (e) => (failed = e));
  const ended = new Promise<void>((res, rej) => {
    gz.on("end", res);
    gz.on("error", rej);
  });
  ended.catch(() => undefined);
  let pending: string[] = [];
  let pendingLength = 0;
  const feed = async () => {
    if (!pending.length) return;
    const buf = Buffer.from(redact(pending.join("")));
    pending = [];
    pendingLength = 0;
    await new Promise<void>((res, rej) => gz.write(buf, (e) => (e ? rej(e) : res())));
    // What zlib has produced so far reaches the disk before more is fed: memory stays at the buffers.
    await disk;
    if (failed) throw failed;
  };
  return {
    async write(text) {
      pending.push(text);
      pendingLength += text.length;
      if (pendingLength >= GZIP_BUFFER) await feed();
    },
    async close() {
      await feed();
      gz.end();
      await ended;
      await disk;
      await handle.sync();
      await handle.close();
      return { sha256: hash.digest("hex"), bytes };
    },
    async abort() {
      gz.destroy();
      await disk.catch(() => undefined);
      await handle.close().catch(() => undefined);
    },
  };
}
