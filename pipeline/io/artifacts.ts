import { createReadStream } from "node:fs";
import { appendFile, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import { sha256 } from "../core/hash.js";
import { redact, redactBytes } from "../core/redact.js";

/**
 * Writes a file so that readers only ever see the old content or the complete new content: write to a
 * temp file beside it, fsync, then rename over. A crash leaves at most a stray `<file>.<pid>.<id>.tmp`,
 * which the stage's next run removes (removeStaleTemps). Secrets are redacted here (core/redact.ts):
 * every artifact, report and cache goes through this function.
 *
 * Writes to one path are serialised in call order, so the last call's content is what stays (as
 * write-file-atomic does); each write still gets its own temp name, so nothing outside this queue (a
 * second copy of this module in a worker thread) can share one. A failed write removes its temp file.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const key = resolve(path);
  const previous = writesInFlight.get(key) ?? Promise.resolve();
  const write = previous.then(() => writeNow(path, data));
  const settled = write.catch(() => undefined);
  writesInFlight.set(key, settled);
  // The map holds only paths with a write pending: the last one to finish removes the entry.
  void settled.then(() => {
    if (writesInFlight.get(key) === settled) writesInFlight.delete(key);
  });
  return write;
}

const writesInFlight = new Map<string, Promise<void>>();
/** Temp files this process is writing now: a stage's cleanup must not take them for a dead run's. */
const tempsInFlight = new Set<string>();

async function writeNow(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const bytes = typeof data === "string" ? redact(data) : redactBytes(data);
  tempsInFlight.add(resolve(tmp));
  try {
    const handle = await open(tmp, "wx");
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    tempsInFlight.delete(resolve(tmp));
  }
}

/**
 * A file written piece by piece and published whole: the pieces go to a temp file beside `path`
 * (tempPathFor, so a killed run leaves only a temp the next run removes), buffered to about 1 MB per
 * write, redacted like every other write; `commit` fsyncs and renames it over `path` (after any
 * writeFileAtomic to the same path queued before it), `abort` removes it. For artifacts too big to
 * build as one string: memory stays at the buffer whatever the file's size. The sha256 and byte count
 * of what was written come back from commit (a stage recording its outputs' hashes).
 */
export interface AtomicWriter {
  write(text: string): Promise<void>;
  commit(): Promise<{ sha256: string; bytes: number }>;
  abort(): Promise<void>;
}

const WRITER_BUFFER = 1 << 20;

export async function openAtomicWriter(path: string): Promise<AtomicWriter> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  tempsInFlight.add(resolve(tmp));
  const handle = await open(tmp, "wx");
  const hash = createHash("sha256");
  let pending: string[] = [];
  let pendingLength = 0;
  let bytes = 0;
  let closed = false;
  const flush = async () => {
    if (!pending.length) return;
    const buf = Buffer.from(redact(pending.join("")));
    pending = [];
    pendingLength = 0;
    hash.update(buf);
    bytes += buf.length;
    await handle.write(buf);
  };
  const cleanup = async () => {
    closed = true;
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    tempsInFlight.delete(resolve(tmp));
  };
  return {
    async write(text) {
      if (closed) throw new Error(`writing ${path}: the writer is already committed or aborted`);
      pending.push(text);
      pendingLength += text.length;
      if (pendingLength >= WRITER_BUFFER) await flush();
    },
    async commit() {
      if (closed) throw new Error(`writing ${path}: the writer is already committed or aborted`);
      try {
        await flush();
        await handle.sync();
        await handle.close();
        closed = true;
        const key = resolve(path);
        // After any whole-file write of the same path queued before us, so the last call still wins.
        await (writesInFlight.get(key) ?? Promise.resolve());
        await rename(tmp, path);
        tempsInFlight.delete(resolve(tmp));
        return { sha256: hash.digest("hex"), bytes };
      } catch (e) {
        await cleanup();
        throw e;
      }
    },
    abort: cleanup,
  };
}

/**
 * Replaces the folder `dir` by one that `fill` writes into a staging folder beside it (a temp name,
 * as tempPathFor gives), so a killed run never leaves a half-written `dir`, only a staging folder the
 * stage's next run removes. Files inside are written with writeFileAtomic, hence redacted.
 */
export async function replaceDirStaged(dir: string, fill: (staging: string) => Promise<void>): Promise<void> {
  const staging = tempPathFor(dir);
  tempsInFlight.add(resolve(staging));
  try {
    await fill(staging);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  } finally {
    tempsInFlight.delete(resolve(staging));
  }
}

/** Appends text to a file (the raw answers log), redacted like every other write. */
export async function appendFileRedacted(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, redact(text));
}

/**
 * A fresh temp name beside `path`: `<path>.<pid>.<random hex>.tmp`. The pid says whose it is (a stage
 * removes only those whose process is gone); the random part makes every call's name its own.
 */
export const tempPathFor = (path: string, pid: number = process.pid): string => `${path}.${pid}.${randomBytes(6).toString("hex")}.tmp`;

/** Matches the temp names tempPathFor gives `name`, any pid; also `<name>.<pid>.tmp`, the form
 * earlier versions used, so their leftovers are still found. Group 1 is the pid. */
export const staleTempPattern = (name: string): RegExp =>
  new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)(?:\\.[0-9a-f]+)?\\.tmp$`);

/**
 * Whether `name` in `dir` is a temp file (or staged folder) of `base` left by a process that is gone.
 * A temp of this process's own pid counts as left over unless this process is writing it now: the
 * pid may be a killed earlier run's, reused.
 */
export function isStaleTemp(dir: string, base: string, name: string): boolean {
  const match = staleTempPattern(base).exec(name);
  if (!match) return false;
  const pid = Number(match[1]);
  if (pid === process.pid) return !tempsInFlight.has(resolve(dir, name));
  return !isRunning(pid);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Stable, human-diffable JSON for artifacts (2-space indent, trailing newline). */
export function toJsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, toJsonText(value));
}

/** One compact JSON object per line. */
export function toJsonlText(rows: readonly unknown[]): string {
  let out = "";
  for (const row of rows) out += `${JSON.stringify(row)}\n`;
  return out;
}

export async function writeJsonlAtomic(path: string, rows: readonly unknown[]): Promise<void> {
  await writeFileAtomic(path, toJsonlText(rows));
}

/** Describes a zod failure as "field: expected X, got Y" lines. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

/** Reads a JSON artifact and validates it, naming the file and the field on mismatch. */
export async function readJson<T>(path: string, schema: z.ZodType<T>, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UserError(`${what} not found at ${path}`, "run the stage that writes it first (or `whp run`)");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path} is not valid JSON (${(e as Error).message})`, "delete it and re-run the stage that writes it");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new UserError(`${path} does not match the ${what} format: ${describeIssues(parsed.error)}`, "delete it and re-run the stage that writes it");
  }
  return parsed.data;
}

/** The JSON value of each non-blank line of a JSONL file, with its line number, read as a stream. A
 * line that is not JSON is a user error at `where(line)` (each reader names files its own way). */
export async function* jsonlValues(path: string, where: (line: number) => string): AsyncGenerator<{ raw: unknown; line: number }> {
  let line = 0;
  for await (const text of fileLines(path)) {
    line++;
    if (text.trim() === "") continue;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new UserError(`${where(line)}: not valid JSON (${(e as Error).message})`, "delete the file and re-run the stage that writes it");
    }
    yield { raw, line };
  }
}

/**
 * The lines of a text file (without their \n or \r\n), read as the caller takes them. Not readline:
 * its async iterator reads up to 1,024 lines ahead of the caller, which for a stage reading a
 * corpus-sized file slowly (translate, export) is most of the file held in memory; here at most one
 * read chunk and the current line are.
 */
export async function* fileLines(path: string): AsyncGenerator<string> {
  let partial: string[] = [];
  for await (const chunk of createReadStream(path, { encoding: "utf8" })) {
    const text = chunk as string;
    let from = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", from)) {
      partial.push(text.slice(from, nl));
      const line = partial.join("");
      partial = [];
      yield line.endsWith("\r") ? line.slice(0, -1) : line;
      from = nl + 1;
    }
    if (from < text.length) partial.push(text.slice(from));
  }
  const last = partial.join("");
  if (last !== "") yield last.endsWith("\r") ? last.slice(0, -1) : last;
}

/** Reads a JSONL artifact line by line, validating each line; errors name the file and line. */
export async function* readJsonl<T>(path: string, schema: z.ZodType<T>): AsyncGenerator<T> {
  for await (const { raw, line } of jsonlValues(path, (n) => `${path}:${n}`)) {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new UserError(`${path}:${line}: ${describeIssues(parsed.error)}`, "delete the file and re-run the stage that writes it");
    }
    yield parsed.data;
  }
}

export async function readJsonlAll<T>(path: string, schema: z.ZodType<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const row of readJsonl(path, schema)) out.push(row);
  return out;
}

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function removeIfExists(path: string): Promise<void> {
  await rm(path, { force: true, recursive: true });
}

export { sha256 };
