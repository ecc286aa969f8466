/**
 * `whp verify <dir>`: checks a dataset folder against its manifest.json (every file's size, sha256 and
 * row count, nothing unlisted) and every row against its layout (fields, equal lengths, ids inside the
 * vocabulary, -100 only where the layout allows it, the layout's label convention (-100 first for
 * unshifted labels, last for pre-shifted ones), at least one trained label, the tokenizer's BOS).
 * Each problem names the file, the row (1-based line) and the field. Notes say what is true of a sound
 * folder but matters before training on it (demonstration-only labels, an old pre-shifted layout).
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { gunzipSync } from "node:zlib";
import { describeIssues } from "../io/artifacts.js";
import { sha256 } from "../core/hash.js";
import { formatSpec, IGNORE, type DatasetConfigName, type FormatSpec } from "./formats.js";
import { demonstrationNote } from "./provenance.js";
import { datasetManifestSchema, type DatasetManifest } from "./manifest.js";

export interface VerifyProblem {
  file: string;
  row?: number;
  field?: string;
  message: string;
}

export interface VerifyReport {
  problems: VerifyProblem[];
  files: number;
  rows: number;
  notes: string[];
}

export function describeProblem(p: VerifyProblem): string {
  return `${p.file}${p.row !== undefined ? `: row ${p.row}` : ""}${p.field ? `, field "${p.field}"` : ""}: ${p.message}`;
}

/** The layout a file's rows follow. Version-1 manifests wrote pre-shifted labels under `torchtune`. */
export function layoutOf(config: DatasetConfigName, manifestVersion: number): FormatSpec {
  return formatSpec(config === "torchtune" && manifestVersion < 2 ? "torchtune-shifted" : config);
}

/** Problems beyond this many per file are counted, not listed: one broken file can have millions. */
const MAX_PER_FILE = 20;

interface RowContext {
  spec: FormatSpec;
  fields: string[];
  labelColumns: string[];
  vocabSize: number;
  bos: readonly number[];
}

const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));

/** Checks one parsed row; returns [field, message] pairs and the row's number of -100 labels. */
export function checkRow(row: unknown, ctx: RowContext): { problems: [string | undefined, string][]; ignored: number } {
  const problems: [string | undefined, string][] = [];
  if (!row || typeof row !== "object" || Array.isArray(row)) return { problems: [[undefined, `expected a JSON object, got ${Array.isArray(row) ? "an array" : typeof row}`]], ignored: 0 };
  const r = row as Record<string, unknown>;
  for (const f of ctx.fields) if (!(f in r)) problems.push([f, "missing"]);
  for (const f of Object.keys(r)) if (!ctx.fields.includes(f)) problems.push([f, `not a feature of this layout (expected only ${ctx.fields.join(", ")})`]);
  if (!ctx.spec.tokens) {
    for (const f of ctx.fields) if (f in r && typeof r[f] !== "string") problems.push([f, `expected a string, got ${typeof r[f]}`]);
    return { problems, ignored: 0 };
  }
  const tokens = r[ctx.spec.tokens];
  if (!isIntArray(tokens) || tokens.length === 0) {
    problems.push([ctx.spec.tokens, "expected a non-empty list of integers"]);
    return { problems, ignored: 0 };
  }
  const n = tokens.length;
  const V = ctx.vocabSize;
  const bad = tokens.findIndex((t) => t < 0 || t >= V);
  if (bad >= 0) problems.push([ctx.spec.tokens, `id ${tokens[bad]} at position ${bad} is outside the vocabulary (0..${V - 1})`]);
  if (ctx.bos.some((id, i) => tokens[i] !== id)) problems.push([ctx.spec.tokens, `expected the tokenizer's leading special ids [${ctx.bos.join(", ")}], got [${tokens.slice(0, ctx.bos.length).join(", ")}]`]);
  if ("attention_mask" in r) {
    const mask = r.attention_mask;
    if (!isIntArray(mask) || mask.length !== n) problems.push(["attention_mask", `expected ${n} values (the length of ${ctx.spec.tokens}), got ${Array.isArray(mask) ? mask.length : typeof mask}`]);
    else if (mask.some((m) => m !== 1)) problems.push(["attention_mask", "expected all 1 (blocks are unpadded)"]);
  }
  let ignored = 0;
  for (const col of ctx.labelColumns) {
    const labels = r[col];
    if (!isIntArray(labels)) {
      problems.push([col, "expected a list of integers"]);
      continue;
    }
    if (labels.length !== n) {
      problems.push([col, `expected ${n} labels (the length of ${ctx.spec.tokens}), got ${labels.length}`]);
      continue;
    }
    let trained = 0;
    for (let t = 0; t < n; t++) {
      const l = labels[t];
      if (l === IGNORE) ignored++;
      else if (l < 0 || l >= V) {
        problems.push([col, `label ${l} at position ${t} is neither -100 nor inside the vocabulary (0..${V - 1})`]);
        break;
      } else trained++;
    }
    if (trained === 0) problems.push([col, "no trained label (all -100): the row teaches nothing"]);
    if (ctx.spec.ignoredAt === "first" && labels[0] !== IGNORE) problems.push([col, `expected -100 at position 0 (no prediction targets the first token), got ${labels[0]}`]);
    if (ctx.spec.ignoredAt === "last" && labels[n - 1] !== IGNORE) problems.push([col, `expected -100 at the last position (pre-shifted labels have no target there), got ${labels[n - 1]}`]);
    if (ctx.spec.labelsEqualTokens && labels.some((l, t) => l !== tokens[t])) {
      problems.push([col, "expected labels equal to input_ids (plain language modelling)"]);
    }
  }
  return { problems, ignored };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split("\\").join("/")).sort();
}

export async function verifyDataset(dir: string): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  let manifestText: string;
  try {
    manifestText = await readFile(join(dir, "manifest.json"), "utf8");
  } catch {
    return { problems: [{ file: "manifest.json", message: `not found in ${dir}` }], files: 0, rows: 0, notes: [] };
  }
  let manifest: DatasetManifest;
  try {
    const parsed = datasetManifestSchema.safeParse(JSON.parse(manifestText));
    if (!parsed.success) return { problems: [{ file: "manifest.json", message: describeIssues(parsed.error) }], files: 0, rows: 0, notes: [] };
    manifest = parsed.data;
  } catch (e) {
    return { problems: [{ file: "manifest.json", message: `not valid JSON (${(e as Error).message})` }], files: 0, rows: 0, notes: [] };
  }

  const notes: string[] = [];
  const demo = demonstrationNote(manifest.embeddedModels ?? (manifest.demonstrationOnly ? [{ role: "unrecorded", provider: "embedded" }] : []));
  if (demo) notes.push(demo);
  if (manifest.version < 2 && manifest.files.some((f) => f.config === "torchtune")) {
    notes.push("torchtune/ was written by an older whp with pre-shifted labels: released torchtune (<= 0.6.1) shifts again and trains each position on the token two ahead; re-export (`whp export --force`) for the release layout");
  }

  const listed = new Set(manifest.files.map((f) => f.path));
  let onDisk: string[] = [];
  try {
    onDisk = await listFiles(dir);
  } catch (e) {
    problems.push({ file: dir, message: `cannot list the folder (${(e as Error).message})` });
  }
  for (const f of onDisk) if (f !== "manifest.json" && !listed.has(f)) problems.push({ file: f, message: "not listed in manifest.json" });

  let rowsChecked = 0;
  for (const file of manifest.files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, file.path));
    } catch {
      problems.push({ file: file.path, message: "listed in manifest.json but missing" });
      continue;
    }
    if (bytes.length !== file.bytes) problems.push({ file: file.path, message: `expected ${file.bytes} bytes, got ${bytes.length} (truncated or changed)` });
    const hash = sha256(bytes);
    if (hash !== file.sha256) problems.push({ file: file.path, message: `sha256 mismatch: expected ${file.sha256}, got ${hash}` });
    if (!file.config) continue;

    let text: string;
    try {
      text = (file.gzip ? gunzipSync(bytes) : bytes).toString("utf8");
    } catch (e) {
      problems.push({ file: file.path, message: `cannot be decompressed (${(e as Error).message})` });
      continue;
    }
    const spec = layoutOf(file.config, manifest.version);
    const ctx: RowContext = {
      spec,
      fields: spec.features(manifest.alphas.columns).map((f) => f.name),
      labelColumns: spec.labelColumns(manifest.alphas.columns),
      vocabSize: manifest.tokenizer.vocabSize,
      bos: manifest.tokenizer.prefixSpecialIds,
    };
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    else problems.push({ file: file.path, row: lines.length, message: "the last line has no newline (truncated?)" });
    let listedProblems = 0;
    let hidden = 0;
    let ignored = 0;
    const report = (p: VerifyProblem) => (listedProblems++ < MAX_PER_FILE ? problems.push(p) : hidden++);
    lines.forEach((line, i) => {
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (e) {
        report({ file: file.path, row: i + 1, message: `not valid JSON (${(e as Error).message})` });
        return;
      }
      const checked = checkRow(row, ctx);
      ignored += checked.ignored;
      for (const [field, message] of checked.problems) report({ file: file.path, row: i + 1, field, message });
    });
    rowsChecked += lines.length;
    if (file.rows !== undefined && lines.length !== file.rows) problems.push({ file: file.path, message: `expected ${file.rows} rows, got ${lines.length}` });
    if (file.ignoredLabels !== undefined && ignored !== file.ignoredLabels) problems.push({ file: file.path, message: `expected ${file.ignoredLabels} labels of -100 in all, got ${ignored}` });
    if (hidden) problems.push({ file: file.path, message: `and ${hidden} more problem(s) in this file` });
  }
  return { problems, files: manifest.files.length, rows: rowsChecked, notes };
}
