/**
 * Cache entries are written in the background (io/disk-cache.ts): a fetched value goes back to its
 * caller at once and its entry joins this queue. The queue is bounded twice, so thousands of pending
 * writes cannot hold thousands of buffers: at most `concurrency` writes run at once (the libuv pool
 * has 1 thread under bin/whp.js, and the hits' reads share it), and at most `maxEntries` entries or
 * `maxBytes` bytes wait. A caller whose entry does not fit waits for room, which only slows a run
 * that outpaces the disk, and is still correct. One entry larger than `maxBytes` is let in alone.
 *
 * The event loop stays alive while a write runs, and a finished write starts the next, so a process
 * that ends normally (its work done, the loop empty) has written every entry it queued; a killed one
 * loses the pending ones (fetched again next time) and leaves at most temp files (io/cache-write.ts).
 */
import { resolve } from "node:path";
import type { RedactedEntry } from "./cache-write.js";

export interface WriteLimits {
  concurrency: number;
  maxEntries: number;
  maxBytes: number;
}

export const DEFAULT_WRITE_LIMITS: WriteLimits = { concurrency: 4, maxEntries: 256, maxBytes: 32 * 1024 * 1024 };

interface Job {
  size: number;
  /** Never rejects: the cache counts and warns about its own failures. */
  write: () => Promise<void>;
}

export class WriteQueue {
  private running = 0;
  /** Entries holding a place: waiting to start or being written. */
  private held = 0;
  private bytes = 0;
  private readonly ready: Job[] = [];
  private readonly room: (() => void)[] = [];

  constructor(private readonly limits: WriteLimits = DEFAULT_WRITE_LIMITS) {}

  /** Resolves once the entry holds a place in the queue (not when it is written). */
  async add(size: number, write: () => Promise<void>): Promise<void> {
    while (!this.fits(size)) await new Promise<void>((r) => this.room.push(r));
    this.held++;
    this.bytes += size;
    this.ready.push({ size, write });
    this.pump();
  }

  private fits(size: number): boolean {
    return this.held === 0 || (this.held < this.limits.maxEntries && this.bytes + size <= this.limits.maxBytes);
  }

  private pump(): void {
    while (this.running < this.limits.concurrency && this.ready.length) {
      const job = this.ready.shift() as Job;
      this.running++;
      void job
        .write()
        .catch(() => {}) // a writer that broke its promise not to reject must not stop the queue
        .finally(() => {
          this.running--;
          this.held--;
          this.bytes -= job.size;
          this.pump();
          // One waiter per freed place; one that still does not fit waits for the next.
          this.room.shift()?.();
        });
    }
  }
}

/** The one queue every cache of this process writes through, so the bound is the process's. */
export const cacheWrites = new WriteQueue();

/**
 * What this process knows of one cache folder beyond a listing of it, shared by every cache opened
 * on the folder (a stage's sources, then another stage's, in one process): entries queued and not
 * yet on disk (their redacted bytes, so a repeat request is answered without the disk), entries this
 * process has written (so a cache that listed the folder before they landed still finds them), and
 * the writes not yet settled (what flush waits for).
 */
export interface FolderWrites {
  pending: Map<string, RedactedEntry>;
  written: Set<string>;
  unsettled: Set<Promise<void>>;
}

const folders = new Map<string, FolderWrites>();

export function folderWrites(dir: string): FolderWrites {
  const at = resolve(dir);
  let f = folders.get(at);
  if (!f) folders.set(at, (f = { pending: new Map(), written: new Set(), unsettled: new Set() }));
  return f;
}

/** Waits until every write queued for these folders, including those queued meanwhile, has settled. */
export async function settle(of: Iterable<FolderWrites>): Promise<void> {
  const list = [...of];
  for (;;) {
    const open = list.flatMap((f) => [...f.unsettled]);
    if (!open.length) return;
    await Promise.all(open);
  }
}

/** Every cache write this process queued, settled (written, or failed and warned about). */
export function settleCacheWrites(): Promise<void> {
  return settle(folders.values());
}
