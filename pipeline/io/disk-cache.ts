/**
 * The one disk cache every response cache is built on (rows for labels, the evaluation's answers, the
 * judge's chat answers): an entry per request under the SHA-256 of the canonical request, spread over
 * 256 folders, written whole-or-nothing without an fsync (io/cache-write.ts, redacted).
 *
 * One behaviour for everything that can go wrong with an entry: the codec checks it (every codec
 * carries a checksum and repeats the key, so a torn, garbled or misplaced entry is caught) and the
 * caller may check the value; either failure is counted in `corrupt`, warned about with the entry's
 * short key and the reason, and the value is fetched again and rewritten. Never trusted, never silent.
 *
 * Two concurrent gets of one key make one fetch: the second waits for the first.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { canonicalJson, hashJson } from "../core/hash.js";
import { redact } from "../core/redact.js";
import { EntryIndex } from "./cache-index.js";
import { cacheWrites, folderWrites, settle, type FolderWrites, type WriteQueue } from "./cache-queue.js";
import { entryBytes, redactEntry, writeRedactedEntry, type RedactedEntry } from "./cache-write.js";

export { settleCacheWrites } from "./cache-queue.js";

/** How a value is stored: bytes or text that carry their own checksum and repeat their key. */
export interface CacheCodec<V> {
  /** File extension, with its dot (".rows", ".json"). */
  readonly ext: string;
  encode(key: string, value: V): string | Uint8Array;
  /** The value in `bytes`, or the reason it cannot be trusted ("checksum mismatch", ...). */
  decode(key: string, bytes: Buffer): V | CorruptEntry;
}

/** What a codec returns for an entry it will not trust. */
export class CorruptEntry {
  constructor(readonly reason: string) {}
}

export interface DiskCacheOptions {
  /** How warnings name the cache: "<label> entry <key> is corrupt (...)". */
  label: string;
  warn?: (message: string) => void;
  /** Tests: the file-system calls (to hold a write back, or to see which calls a get makes). */
  io?: Partial<CacheIo>;
  /** Tests: a queue with other limits than the process's one. */
  writes?: WriteQueue;
}

export interface CacheIo {
  readFile(path: string): Promise<Buffer>;
  readdir(path: string): Promise<string[]>;
  rm(path: string): Promise<void>;
  writeEntry(path: string, data: RedactedEntry): Promise<void>;
}

const realIo: CacheIo = {
  readFile: (path) => readFile(path),
  readdir: (path) => readdir(path),
  rm: (path) => rm(path, { force: true }),
  writeEntry: (path, data) => writeRedactedEntry(path, data),
};

export class DiskCache<K, V> {
  hits = 0;
  /** Entries found corrupt (by the codec or the caller's check), warned about and fetched again. */
  corrupt = 0;
  /** Entries whose background write failed (warned about; fetched again when next asked for). */
  writeFailures = 0;
  private readonly inflight = new Map<string, Promise<V>>();
  private readonly io: CacheIo;
  private readonly index: EntryIndex;
  private readonly folder: FolderWrites;
  private readonly writes: WriteQueue;

  constructor(
    readonly dir: string,
    private readonly codec: CacheCodec<V>,
    private readonly options: DiskCacheOptions,
  ) {
    this.io = { ...realIo, ...options.io };
    this.index = new EntryIndex(dir, codec.ext, this.io);
    this.folder = folderWrites(dir);
    this.writes = options.writes ?? cacheWrites;
  }

  /** Waits until every entry queued for this cache's folder is written (or failed, and warned about). */
  flush(): Promise<void> {
    return settle([this.folder]);
  }

  /** The cache key of a request: the hash of its canonical JSON. */
  keyOf(request: K): string {
    return hashJson(request);
  }

  fileOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}${this.codec.ext}`);
  }

  /**
   * The cached value for `request`, or `fetch()`'s (its entry written in the background). `check`
   * (optional) validates a cached value further (a schema); it throws on a bad one, which is then
   * treated as corrupt.
   */
  through<T extends V>(request: K, fetch: () => Promise<T>, check?: (value: V) => T): Promise<T> {
    const key = this.keyOf(request);
    const running = this.inflight.get(key);
    if (running) return running as Promise<T>;
    const task = this.getOrFetch(key, fetch, check);
    this.inflight.set(key, task);
    // The entry leaves the map once settled, success or failure, so a failed fetch is tried afresh.
    const forget = () => {
      if (this.inflight.get(key) === task) this.inflight.delete(key);
    };
    task.then(forget, forget);
    return task;
  }

  private async getOrFetch<T extends V>(key: string, fetch: () => Promise<T>, check?: (value: V) => T): Promise<T> {
    const hit = await this.read(key, check);
    if (hit) return hit.value;
    const value = await fetch();
    await this.store(key, value); // waits for room in the queue at most, not for the write
    return value;
  }

  /** Queues the entry's write; resolves once it holds a place in the queue. */
  private async store(key: string, value: V): Promise<void> {
    const data = redactEntry(this.codec.encode(key, value));
    const folder = this.folder;
    folder.pending.set(key, data);
    let settled!: () => void;
    const unsettled = new Promise<void>((r) => (settled = r));
    folder.unsettled.add(unsettled);
    const write = async () => {
      try {
        await this.io.writeEntry(this.fileOf(key), data);
        folder.written.add(key);
      } catch (err) {
        this.writeFailures++;
        folder.written.delete(key);
        this.index.forget(key);
        const reason = (err as Error).message.split("\n")[0].slice(0, 160);
        this.options.warn?.(`${this.options.label} entry ${key.slice(0, 12)} could not be written (${reason}); it will be fetched again`);
      } finally {
        if (folder.pending.get(key) === data) folder.pending.delete(key);
        folder.unsettled.delete(unsettled);
        settled();
      }
    };
    await this.writes.add(entryBytes(data), write);
  }

  private async read<T extends V>(key: string, check?: (value: V) => T): Promise<{ value: T } | undefined> {
    const pending = this.folder.pending.get(key);
    if (pending !== undefined) return this.decoded(key, typeof pending === "string" ? Buffer.from(pending) : Buffer.from(pending.buffer, pending.byteOffset, pending.byteLength), check);
    if (!this.folder.written.has(key) && !(await this.index.mayHold(key))) return undefined;
    let bytes: Buffer;
    try {
      bytes = await this.io.readFile(this.fileOf(key));
    } catch {
      return undefined; // not cached (or unreadable: fetched again and rewritten either way)
    }
    return this.decoded(key, bytes, check);
  }

  /** The value in an entry's bytes, or undefined (counted and warned about) when it is not to be trusted. */
  private decoded<T extends V>(key: string, bytes: Buffer, check?: (value: V) => T): { value: T } | undefined {
    let reason: string;
    try {
      const decoded = this.codec.decode(key, bytes);
      if (decoded instanceof CorruptEntry) reason = decoded.reason;
      else {
        const value = check ? check(decoded) : (decoded as T);
        this.hits++;
        return { value };
      }
    } catch (err) {
      reason = (err as Error).message.split("\n")[0].slice(0, 120);
    }
    this.corrupt++;
    this.options.warn?.(`${this.options.label} entry ${key.slice(0, 12)} is corrupt (${reason}); fetching it again`);
    return undefined;
  }
}

const sha256Hex = (value: unknown) => createHash("sha256").update(canonicalJson(value)).digest("hex");

/**
 * JSON entries: `{"v":1,"key":...,"sha256":<of the value's canonical JSON>,"value":...}` and a
 * newline, the answer cache's format since it was written.
 */
export function jsonCodec<V>(): CacheCodec<V> {
  return {
    ext: ".json",
    encode: (key, value) => {
      // Redacted before the checksum is taken: the writer redacts too, and a checksum over the value
      // with a secret in it would fail on every read, so the entry would be fetched again every run.
      const stored: unknown = JSON.parse(redact(JSON.stringify(value)));
      return `${JSON.stringify({ v: 1, key, sha256: sha256Hex(stored), value: stored })}\n`;
    },
    decode: (key, bytes) => {
      let e: { v?: unknown; key?: unknown; sha256?: unknown; value?: unknown };
      try {
        e = JSON.parse(bytes.toString("utf8"));
      } catch (err) {
        return new CorruptEntry(`not JSON: ${(err as Error).message.slice(0, 80)}`);
      }
      if (typeof e !== "object" || e === null || e.v !== 1 || typeof e.key !== "string" || typeof e.sha256 !== "string" || !("value" in e)) return new CorruptEntry("not a v1 cache entry");
      if (e.key !== key) return new CorruptEntry("entry belongs to another request");
      if (e.sha256 !== sha256Hex(e.value)) return new CorruptEntry("checksum mismatch");
      return e.value as V;
    },
  };
}
