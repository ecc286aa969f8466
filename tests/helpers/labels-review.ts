/** Shared steps of the uncertain-label queue's end-to-end tests (tests/labels-review-*.test.ts). */
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { expect } from "vitest";
import { cli } from "./capture.js";
export { cli };

export type Row = Record<string, string>;
export const readCsv = async (file: string): Promise<Row[]> => parse(await readFile(file, "utf8"), { columns: true }) as Row[];
export const writeCsv = (file: string, rows: Row[]) => writeFile(file, stringify(rows, { header: true, columns: Object.keys(rows[0]) }));
export const jsonl = async (file: string) => (await readFile(file, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
export const LABEL_COLUMNS = ["labels", "labels_alpha_2.5", "labels_alpha_10"];

/** Every (block, column, position) whose label differs between two train.jsonl files. */
export async function labelDiff(before: string, after: string): Promise<string[]> {
  const [a, b] = [await jsonl(before), await jsonl(after)];
  expect(b.map((r) => r.id)).toEqual(a.map((r) => r.id));
  const out: string[] = [];
  a.forEach((row, i) => {
    for (const c of LABEL_COLUMNS) (row[c] as number[]).forEach((l, t) => l !== (b[i][c] as number[])[t] && out.push(`${row.id}:${t}:${c}:${(b[i][c] as number[])[t]}`));
  });
  return out;
}

/** Queue, one replace verdict (by a runner-up) and one accept, apply, export: returns what changed. */
export async function reviewOnce(configArgs: string[], runDir: string) {
  const q = await cli("review-queue", "labels", ...configArgs);
  expect(q.code, q.stderr).toBe(0);
  const file = join(runDir, "review", "labels-queue.csv");
  const rows = await readCsv(file);
  expect(rows.length).toBeGreaterThan(0);
  const target = rows.find((r) => r.runner_ups !== "")!;
  const replacement = target.runner_ups.split(" | ")[0];
  target.verdict = "replace";
  target.replacement = replacement;
  const accepted = rows.find((r) => r !== target)!;
  accepted.verdict = "accept";
  await writeCsv(file, rows);
  await copyFile(join(runDir, "train.jsonl"), join(runDir, "train.before.jsonl"));
  const applied = await cli("labels", ...configArgs, "--apply-review", file);
  expect(applied.code, applied.stderr).toBe(0);
  expect(applied.stderr).toMatch(/re-applying the review without asking the models/);
  expect(applied.stdout).toMatch(/applied 2 verdict\(s\) \(accept 1, replace 1, mask 0\)/);
  expect((await cli("export", ...configArgs, "--quiet")).code).toBe(0);
  return { file, rows, target, replacement, diff: await labelDiff(join(runDir, "train.before.jsonl"), join(runDir, "train.jsonl")) };
}
