/**
 * The artifact registry: every file of a run, by name, with its schema and format version. Stages
 * name the artifacts they read and write by these names (Stage.reads / writes), and read and write
 * them through readArtifact / writeArtifact, which validate both sides: a row a stage built wrongly
 * is a bug caught before it reaches the disk, a file edited or left by another version is a user
 * error naming the file, the line and the field.
 *
 * The table imports only schema modules (no stage file), so a stage, its readers and the runner can
 * all import it without an import cycle.
 */
import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { datasetManifestSchema, DATASET_MANIFEST_VERSION } from "../export/manifest.js";
import { UserError } from "../core/errors.js";
import { fileExists, jsonlValues, openAtomicWriter, toJsonlText, toJsonText, writeFileAtomic } from "../io/artifacts.js";
import { REVIEW_FILE_VERSION, reviewFileSchema } from "../labels-review/review-file.js";
import { uncertaintyRowSchema } from "../labels-review/uncertainty.js";
import { alignedSchema } from "./aligned.js";
import { blockSchema, generalBlockSchema } from "./blocks.js";
import { DICTIONARY_VERSION, dictionarySchema } from "./dictionary.js";
import { documentSchema } from "./documents.js";
import { labelRowSchema, labelsMetaSchema } from "./labels.js";
import { RUN_MANIFEST_VERSION, runManifestSchema, trainRowSchema } from "./train.js";

interface Spec<F extends string, K extends "jsonl" | "json", S extends z.ZodType> {
  /** Path under the run directory. */
  readonly file: F;
  /** jsonl: one row per line, each validated; json: one document. */
  readonly kind: K;
  readonly schema: S;
  /** The format version: a json artifact carries it in its `version` field and a file with another
   * one is refused as such; a jsonl artifact's rows carry none (the stage version covers them). */
  readonly version: number;
}
const jsonl = <F extends string, S extends z.ZodType>(file: F, schema: S, version = 1): Spec<F, "jsonl", S> => ({ file, kind: "jsonl", schema, version });
const json = <F extends string, S extends z.ZodType>(file: F, schema: S, version: number): Spec<F, "json", S> => ({ file, kind: "json", schema, version });

export const REGISTRY = {
  documents: jsonl("documents.jsonl", documentSchema),
  generalDocuments: jsonl("general-documents.jsonl", documentSchema),
  blocks: jsonl("blocks.jsonl", blockSchema),
  generalBlocks: jsonl("general-blocks.jsonl", generalBlockSchema),
  dictionary: json("dictionary.json", dictionarySchema, DICTIONARY_VERSION),
  aligned: jsonl("aligned.jsonl", alignedSchema),
  labels: jsonl("labels.jsonl", labelRowSchema),
  labelsMeta: json("labels-meta.json", labelsMetaSchema, 1),
  // Per labelled position: the baseline's probability of the label, its margin, the runner-ups
  // (pipeline/labels-review/uncertainty.ts); read by `whp review-queue labels`.
  labelsUncertainty: jsonl("labels-uncertainty.jsonl", uncertaintyRowSchema),
  // The verdicts `whp labels --apply-review` stored; the labels stage applies them after combining.
  labelsReview: json("labels-review.json", reviewFileSchema, REVIEW_FILE_VERSION),
  train: jsonl("train.jsonl", trainRowSchema),
  manifest: json("manifest.json", runManifestSchema, RUN_MANIFEST_VERSION),
  // The dataset folder's manifest hashes every file in it, so the runner tracking this one file
  // notices the folder deleted or edited by hand and rebuilds it. Written with the folder (staged).
  datasetManifest: json("dataset/manifest.json", datasetManifestSchema, DATASET_MANIFEST_VERSION),
} as const;

export type ArtifactName = keyof typeof REGISTRY;
/** The registered artifacts stored as JSONL (one row a line), which can be read as a stream. */
export type JsonlArtifactName = { [N in ArtifactName]: (typeof REGISTRY)[N]["kind"] extends "jsonl" ? N : never }[ArtifactName];
type Entry<N extends ArtifactName> = (typeof REGISTRY)[N];
/** One row of a jsonl artifact, or the whole of a json one. */
export type ArtifactRow<N extends ArtifactName> = z.output<Entry<N>["schema"]>;
/** What readArtifact returns and writeArtifact takes: the rows of a jsonl artifact, the document of a json one. */
export type ArtifactValue<N extends ArtifactName> = Entry<N>["kind"] extends "jsonl" ? ArtifactRow<N>[] : ArtifactRow<N>;
export type ArtifactInput<N extends ArtifactName> = Entry<N>["kind"] extends "jsonl" ? readonly z.input<Entry<N>["schema"]>[] : z.input<Entry<N>["schema"]>;

/** Every artifact's file name under the run directory, by name. */
export const ARTIFACT_FILES = Object.fromEntries(Object.entries(REGISTRY).map(([name, spec]) => [name, spec.file])) as { readonly [N in ArtifactName]: Entry<N>["file"] };

/** What the helpers need of a stage context: where an artifact lives. */
export interface ArtifactPaths {
  path(name: ArtifactName): string;
}

/** A value's shape in a few characters, for "expected X, got Y". */
function describeValue(v: unknown): string {
  if (v === undefined) return "nothing (missing)";
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return "an object";
  const text = JSON.stringify(v);
  return `${typeof v} ${text.length > 40 ? `${text.slice(0, 37)}...` : text}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/** "field: expected X, got Y" per issue, the got read from the value itself. */
export function describeMismatch(error: z.ZodError, value: unknown): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length ? issue.path.map(String).join(".") : "(row)";
      const expected = issue.code === "invalid_type" ? issue.expected : issue.message.replace(/^Invalid input: /, "").replace(/^expected /, "");
      return `${field}: expected ${expected}, got ${describeValue(valueAt(value, issue.path))}`;
    })
    .join("; ");
}

/** A json artifact's `version` field against the registry's, before its schema (whose error would
 * only say that a literal did not match). */
function checkVersion(file: string, expected: number, raw: unknown): void {
  const got = valueAt(raw, ["version"]);
  if (got !== expected) {
    throw new UserError(`${file}: expected version ${expected}, got ${got === undefined ? "no version" : JSON.stringify(got)}`, "it was written by another whp version: delete it and re-run the stage that writes it");
  }
}

/** Reads and validates a registered artifact; mismatches name the file, the line and the field. */
export async function readArtifact<N extends ArtifactName>(ctx: ArtifactPaths, name: N): Promise<ArtifactValue<N>> {
  const spec: Spec<string, "jsonl" | "json", z.ZodType> = REGISTRY[name];
  const path = ctx.path(name);
  if (!(await fileExists(path))) throw new UserError(`${spec.file} not found at ${path}`, "run the stage that writes it first (or `whp run`)");
  if (spec.kind === "json") {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, "utf8"));
    } catch (e) {
      throw new UserError(`${spec.file}: not valid JSON (${(e as Error).message})`, "delete it and re-run the stage that writes it");
    }
    checkVersion(spec.file, spec.version, raw);
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) throw new UserError(`${spec.file}: ${describeMismatch(parsed.error, raw)}`, "delete it and re-run the stage that writes it");
    return parsed.data as ArtifactValue<N>;
  }
  const rows: unknown[] = [];
  for await (const row of validRows(spec, path)) rows.push(row);
  return rows as ArtifactValue<N>;
}

/** A JSONL artifact's rows one at a time, validated as readArtifact does, for a reader that need not
 * hold the whole file (a stage streaming its input). */
export async function* streamArtifact<N extends JsonlArtifactName>(ctx: ArtifactPaths, name: N): AsyncGenerator<ArtifactRow<N>> {
  const spec: Spec<string, "jsonl" | "json", z.ZodType> = REGISTRY[name];
  const path = ctx.path(name);
  if (!(await fileExists(path))) throw new UserError(`${spec.file} not found at ${path}`, "run the stage that writes it first (or `whp run`)");
  yield* validRows(spec, path) as AsyncGenerator<ArtifactRow<N>>;
}

async function* validRows(spec: Spec<string, "jsonl" | "json", z.ZodType>, path: string): AsyncGenerator<unknown> {
  for await (const { raw, line } of jsonlValues(path, (n) => `${spec.file} line ${n}`)) {
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) throw new UserError(`${spec.file} line ${line}: ${describeMismatch(parsed.error, raw)}`, "delete the file and re-run the stage that writes it");
    yield parsed.data;
  }
}

/**
 * Validates and writes a registered artifact (atomically, through io/artifacts.ts). A mismatch is the
 * writing stage's bug, so it is a plain Error and nothing is written. The caller's objects are
 * written, not zod's copies, so the bytes keep the key order the stage built. Returns the text
 * written (for a stage that records its hash).
 */
export async function writeArtifact<N extends ArtifactName>(ctx: ArtifactPaths, name: N, value: ArtifactInput<N>): Promise<string> {
  const spec: Spec<string, "jsonl" | "json", z.ZodType> = REGISTRY[name];
  let text: string;
  if (spec.kind === "json") {
    checkWritten(spec, value, `${spec.file}`);
    text = toJsonText(value);
  } else {
    const rows = value as readonly unknown[];
    rows.forEach((row, i) => checkWritten(spec, row, `${spec.file} row ${i + 1}`));
    text = toJsonlText(rows);
  }
  await writeFileAtomic(ctx.path(name), text);
  return text;
}

function checkWritten(spec: Spec<string, "jsonl" | "json", z.ZodType>, value: unknown, where: string): void {
  if (spec.kind === "json" && valueAt(value, ["version"]) !== spec.version) throw new Error(`writing ${where}: expected version ${spec.version}, got ${JSON.stringify(valueAt(value, ["version"]))}`);
  const parsed = spec.schema.safeParse(value);
  if (!parsed.success) throw new Error(`writing ${where}: ${describeMismatch(parsed.error, value)}`);
}

/** A JSONL artifact written row by row (io/artifacts.ts openAtomicWriter): each row is checked as
 * writeArtifact checks it, the file appears whole at `commit` or not at all. For stages whose output
 * must not be held in memory. */
export interface ArtifactWriter<N extends JsonlArtifactName> {
  row(value: z.input<Entry<N>["schema"]>): Promise<void>;
  commit(): Promise<{ sha256: string; bytes: number; rows: number }>;
  abort(): Promise<void>;
}

export async function artifactWriter<N extends JsonlArtifactName>(ctx: ArtifactPaths, name: N): Promise<ArtifactWriter<N>> {
  const spec: Spec<string, "jsonl" | "json", z.ZodType> = REGISTRY[name];
  const out = await openAtomicWriter(ctx.path(name));
  let rows = 0;
  return {
    async row(value) {
      try {
        checkWritten(spec, value, `${spec.file} row ${rows + 1}`);
      } catch (e) {
        await out.abort();
        throw e;
      }
      rows++;
      await out.write(`${JSON.stringify(value)}\n`);
    },
    async commit() {
      return { ...(await out.commit()), rows };
    },
    abort: () => out.abort(),
  };
}
