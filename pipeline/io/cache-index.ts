/**
 * Which entries a cache folder holds, so that a miss costs no file-system call: without it every
 * request that is not cached yet paid an async readFile (an ENOENT from libuv's thread pool, 2
 * threads under bin/whp.js) before it could be sent. The folder is listed lazily and once per cache:
 * the top folder on first use (one readdir; none of it when the cache is new), then each 2-hex
 * subfolder the first time a key falls in it. Entries written by this process are known without
 * listing (io/cache-queue.ts's FolderWrites).
 *
 * The index only ever answers "certainly absent" or "maybe present": a listed entry removed since is
 * an ENOENT on read (a miss, as before), and a listing that failed for another reason than ENOENT
 * answers "maybe present" for its whole folder. An entry another process writes into a folder after
 * this cache listed it is not seen: it is fetched again and rewritten, harmlessly (same request,
 * same checksum rules), never trusted on faith.
 *
 * Listing a subfolder is also when a killed run's temp files in it are removed (io/cache-write.ts
 * names them `<entry>.<pid>.<hex>.tmp`), except those of a process still running, this one included.
 */
import { join } from "node:path";
import { isStaleTemp } from "./artifacts.js";

export interface ListingIo {
  readdir(path: string): Promise<string[]>;
  rm(path: string): Promise<void>;
}

const KEY = /^[0-9a-f]{64}/;

export class EntryIndex {
  private top?: Promise<Set<string> | undefined>;
  private readonly subs = new Map<string, Promise<Set<string> | undefined>>();

  constructor(
    private readonly dir: string,
    private readonly ext: string,
    private readonly io: ListingIo,
  ) {}

  /** False only when the listing says the entry is not there. */
  async mayHold(key: string): Promise<boolean> {
    const sub = key.slice(0, 2);
    let listing = this.subs.get(sub);
    if (!listing) this.subs.set(sub, (listing = this.listSub(sub)));
    const names = await listing;
    return names === undefined || names.has(key);
  }

  /** A write of `key` failed: whatever was listed under it (a corrupt entry) is not worth a read. */
  forget(key: string): void {
    void this.subs.get(key.slice(0, 2))?.then((names) => names?.delete(key));
  }

  private async listSub(sub: string): Promise<Set<string> | undefined> {
    const top = await (this.top ??= this.list(this.dir));
    if (top && !top.has(sub)) return new Set();
    const folder = join(this.dir, sub);
    const names = await this.list(folder);
    if (!names) return undefined;
    const keys = new Set<string>();
    for (const name of names) {
      if (name.length === 64 + this.ext.length && name.endsWith(this.ext) && KEY.test(name)) keys.add(name.slice(0, 64));
      else if (name.endsWith(".tmp") && KEY.test(name)) await this.removeIfStale(folder, name);
    }
    return keys;
  }

  private async removeIfStale(folder: string, name: string): Promise<void> {
    const entry = name.slice(0, 64) + this.ext;
    const pid = Number(/\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name)?.[1]);
    // This process's own temps are its writes in flight (a reused pid's leftovers wait for a later run).
    if (pid === process.pid || !isStaleTemp(folder, entry, name)) return;
    await this.io.rm(join(folder, name)).catch(() => {}); // gone already, or not ours to remove
  }

  /** The names in `folder`; an empty set when it does not exist; undefined when it cannot be read. */
  private async list(folder: string): Promise<Set<string> | undefined> {
    try {
      return new Set(await this.io.readdir(folder));
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ENOENT" ? new Set() : undefined;
    }
  }
}
