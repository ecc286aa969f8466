/**
 * A chunked stage's chunk files: `chunk-000123.jsonl`, one row per item, written atomically. A chunk
 * this run wrote was validated as it was written and is read back with JSON.parse only; a chunk left
 * by an earlier run (or another machine's shard) is trusted only if every row matches the chunk schema
 * AND the rows are exactly the expected items, in order: a leftover made under another chunk size, or
 * renamed, must be recomputed, not merged (issue 12; tests/labels-resume.test.ts).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import { fileExists, toJsonlText, writeFileAtomic } from "../io/artifacts.js";
import { describeMismatch } from "../schemas/registry.js";

export const chunkName = (c: number): string => `chunk-${String(c).padStart(6, "0")}.jsonl`;
export const chunkPath = (dir: string, c: number): string => join(dir, chunkName(c));

/** A row check from a schema: the reason a row does not match it, or undefined. */
export const schemaCheck =
  <R>(schema: z.ZodType<R>) =>
  (row: R): string | undefined => {
    const parsed = schema.safeParse(row);
    return parsed.success ? undefined : describeMismatch(parsed.error, row);
  };

/** Checks every row (a mismatch is the stage's bug: a plain Error, nothing written) and writes one
 * chunk. `check` gives the reason a row is wrong, or undefined (schemaCheck, or a stage's own). */
export async function writeChunk<R>(dir: string, c: number, rows: readonly R[], check: (row: R) => string | undefined): Promise<string> {
  rows.forEach((row, i) => {
    const wrong = check(row);
    if (wrong !== undefined) throw new Error(`writing ${chunkName(c)} row ${i + 1}: ${wrong}`);
  });
  const file = chunkPath(dir, c);
  await writeFileAtomic(file, toJsonlText(rows));
  return file;
}

const lines = (text: string) => text.split("\n").filter((l) => l.length > 0);

/** A leftover chunk's rows, or undefined when it is missing, does not parse, does not match the
 * schema, or does not hold exactly `ids` in order. */
export async function leftoverChunk<R extends { id: string }>(file: string, schema: z.ZodType<R>, ids: readonly string[]): Promise<R[] | undefined> {
  if (!(await fileExists(file))) return undefined;
  try {
    const rows = lines(await readFile(file, "utf8")).map((l) => schema.parse(JSON.parse(l)));
    if (rows.length !== ids.length || rows.some((r, i) => r.id !== ids[i])) return undefined;
    return rows;
  } catch {
    return undefined;
  }
}

/** A chunk's rows for assembly: `validate` for a leftover that changed since the survey validated it
 * (checked again), otherwise each line through `read` (JSON.parse unless the executor was given a
 * reader for the chunks this run wrote). */
export async function chunkRows<R extends { id: string }>(file: string, schema: z.ZodType<R>, ids: readonly string[], validate: boolean, read: (line: string) => R = (l) => JSON.parse(l) as R): Promise<R[]> {
  if (validate) {
    const rows = await leftoverChunk(file, schema, ids);
    if (!rows) throw new Error(`${file} changed while the stage ran (it no longer holds the expected rows); run the stage again`);
    return rows;
  }
  return lines(await readFile(file, "utf8")).map(read);
}
