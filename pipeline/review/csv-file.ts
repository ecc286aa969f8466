/**
 * The review CSV on disk: read fresh for every request (so hand edits are seen at once) and written
 * atomically (temp file + rename), one change at a time. Requests are serialised through one queue
 * so that a read-check-write cannot interleave with another's: the version check in store.ts is then
 * exact (writeFileAtomic's own per-path queue only orders whole writes, not read-check-write).
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";

export class CsvFile {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  /** The text exactly as stored (a byte order mark kept: the writers put it back). */
  async read(): Promise<string> {
    const bytes = await readFile(this.path);
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new UserError(`${this.path} is not UTF-8 text`, "save it as UTF-8 (CSV UTF-8 in a spreadsheet), then reload the page");
    }
  }

  /** Runs `fn` after every earlier request finished; `fn` returns the new text, or undefined to write
   * nothing, and a result passed back to the caller. */
  update<T>(fn: (text: string) => { text?: string; result: T }): Promise<T> {
    const run = this.queue.then(async () => {
      const { text, result } = fn(await this.read());
      if (text !== undefined) await writeFileAtomic(this.path, text);
      return result;
    });
    // The queue goes on after a failed request; the failure goes to its caller only.
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** A read that waits for pending writes, so a page never sees a half-applied batch. */
  snapshot(): Promise<string> {
    return this.update((text) => ({ result: text }));
  }
}
