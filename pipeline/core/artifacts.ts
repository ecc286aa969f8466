import { createReadStream } from "node:fs";
import { appendFile, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { createHash } from "node:crypto";
import { z } from "zod";
import { UserError } from "./errors.js";
import { sha256 } from "./hash.js";
import { redact, redactBytes } from "./redact.js";

/**
 * Writes a file so that readers only ever see the old content or the complete new content: write to a
 * temp file beside it, fsync, then rename over. A crash leaves at most a stray `<file>.<pid>.tmp`,
 * which the stage's next run removes (removeStaleTemps). Secrets are redacted here (core/redact.ts):
 * every artifact, report and cache goes through this function.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const handle = await open(tmp, "w");
  try {
    await handle.writeFile(typeof data === "string" ? redact(data) : redactBytes(data));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/** Appends text to a file (the raw answers log), redacted like every other write. */
export async function appendFileRedacted(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, redact(text));
}

/** The temp name writeFileAtomic (and the dataset folder's staging) use: `<path>.<pid>.tmp`. */
export const tempPathFor = (path: string, pid: number = process.pid): string => `${path}.${pid}.tmp`;

/** Matches the temp names tempPathFor gives `name`, any pid. */
export const staleTempPattern = (name: string): RegExp => new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.\\d+\\.tmp$`);

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

/** Reads a JSONL artifact line by line, validating each line; errors name the file and line. */
export async function* readJsonl<T>(path: string, schema: z.ZodType<T>): AsyncGenerator<T> {
  const input = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === "") continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new UserError(`${path}:${lineNo} is not valid JSON (${(e as Error).message})`, "delete the file and re-run the stage that writes it");
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new UserError(`${path}:${lineNo}: ${describeIssues(parsed.error)}`, "delete the file and re-run the stage that writes it");
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
