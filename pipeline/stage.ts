/**
 * The stage contract and the runner that skips, runs and records stages.
 *
 * A stage names the artifacts it reads and writes and the config and files that shape its output. The
 * runner fingerprints all of that; a stage whose fingerprint and outputs are unchanged since its last
 * run is skipped, so re-running a finished run does no work and rewrites nothing.
 */
import { readdir, rm, stat } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { z } from "zod";
import { relativizePaths, type ResolvedConfig } from "./config.js";
import { fileExists, fileSha256, isStaleTemp, readJson, writeJsonAtomic } from "./io/artifacts.js";
import { UserError } from "./core/errors.js";
import { type FileStamp, fileStampSchema, type StampedHasher, stampedHasher } from "./io/file-stamps.js";
import { hashJson } from "./core/hash.js";
import type { Logger } from "./io/log.js";
import { ModelTokenizer } from "./io/tokenizer.js";
import {
  ARTIFACT_FILES,
  type ArtifactInput,
  type ArtifactName,
  type ArtifactRow,
  type ArtifactValue,
  type ArtifactWriter,
  artifactWriter,
  type JsonlArtifactName,
  readArtifact,
  streamArtifact,
  writeArtifact,
} from "./schemas/registry.js";

/** Every artifact of a run, by name, with its file name under the run directory (the registry,
 * schemas/registry.ts, holds each one's file, schema and version). */
export const ARTIFACTS = ARTIFACT_FILES;
export type { ArtifactName };

export type StageStats = Record<string, unknown>;

export interface StageContext {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  path(name: ArtifactName): string;
  /** A registered artifact, validated row by row against its schema (schemas/registry.ts): a file
   * edited or left by another version is a user error naming file, line and field. */
  read<N extends ArtifactName>(name: N): Promise<ArtifactValue<N>>;
  /** A JSONL artifact's validated rows one at a time, for a stage that must not hold the whole file. */
  stream<N extends JsonlArtifactName>(name: N): AsyncGenerator<ArtifactRow<N>>;
  /** Validates (a bad row is the stage's bug: nothing is written) and writes atomically; returns the
   * text written, for a stage that records its hash. */
  write<N extends ArtifactName>(name: N, value: ArtifactInput<N>): Promise<string>;
  /** A JSONL artifact written row by row, each row validated, the file renamed into place at commit. */
  writer<N extends JsonlArtifactName>(name: N): Promise<ArtifactWriter<N>>;
  /** Scratch space for the running stage's resumable partial work (keyed by its fingerprint). */
  partsDir(): string;
  tokenizer(): Promise<ModelTokenizer>;
}

export interface Stage {
  readonly name: string;
  readonly summary: string;
  /** Bump when the stage's output for the same inputs changes. */
  readonly version: number;
  readonly reads: readonly ArtifactName[];
  readonly writes: readonly ArtifactName[];
  /** The config values and outside files (corpus, tokenizer, dictionary) that shape the output. */
  fingerprintInputs(config: ResolvedConfig): Promise<{ config: unknown; files: string[] }>;
  run(ctx: StageContext): Promise<StageStats>;
}

const stageRecordSchema = z.object({
  version: z.literal(1),
  stage: z.string(),
  fingerprint: z.string(),
  outputs: z.record(z.string(), z.string()),
});
type StageRecord = z.infer<typeof stageRecordSchema>;

/**
 * Size, mtime and sha256 of every file the stage hashed (config files, inputs, outputs), keyed by path
 * relative to the config, in `.whp/<stage>.stamps.json` beside the record: the next check trusts a file
 * whose size and mtime match (io/file-stamps.ts). Kept out of the record because mtimes differ from
 * machine to machine while the record, like every artifact, is the same bytes for the same inputs. A
 * missing or unreadable stamps file only means every file is hashed.
 */
const stampsFileSchema = z.object({ version: z.literal(1), stamps: z.record(z.string(), fileStampSchema) });
const stampsPathOf = (ctx: StageContext, stage: Stage) => join(ctx.config.runDir, ".whp", `${stage.name}.stamps.json`);

export function createContext(config: ResolvedConfig, log: Logger): StageContext {
  let tokenizer: Promise<ModelTokenizer> | undefined;
  const paths = { path: (name: ArtifactName) => join(config.runDir, ARTIFACTS[name]) };
  return {
    config,
    log,
    path: paths.path,
    read: (name) => readArtifact(paths, name),
    stream: (name) => streamArtifact(paths, name),
    write: (name, value) => writeArtifact(paths, name, value),
    writer: (name) => artifactWriter(paths, name),
    partsDir: () => join(config.runDir, ".whp", "parts"),
    tokenizer: () => (tokenizer ??= ModelTokenizer.load(config.tokenizer)),
  };
}

const stampKey = (ctx: StageContext, path: string) => relative(ctx.config.baseDir, path);

async function fingerprint(stage: Stage, ctx: StageContext, hasher: StampedHasher): Promise<string> {
  const { config, files } = await stage.fingerprintInputs(ctx.config);
  const fileHashes: Record<string, string> = {};
  for (const f of files) fileHashes[relative(ctx.config.baseDir, f)] = (await fileExists(f)) ? await hasher.hash(f, stampKey(ctx, f)) : "missing";
  const inputHashes: Record<string, string> = {};
  for (const name of stage.reads) {
    const p = ctx.path(name);
    if (!(await fileExists(p))) {
      throw new UserError(`stage "${stage.name}" needs ${ARTIFACTS[name]}, which is not in ${ctx.config.runDir}`, "run the earlier stages first, or `whp run` for all of them");
    }
    inputHashes[name] = await hasher.hash(p, stampKey(ctx, p));
  }
  // Paths are hashed relative to the config file, so a run folder stays valid when the project moves.
  return hashJson({ stage: stage.name, version: stage.version, config: relativizePaths(config, ctx.config.baseDir), files: fileHashes, inputs: inputHashes });
}


export interface StageOutcome {
  stage: string;
  skipped: boolean;
  seconds: number;
  stats?: StageStats;
  /** Files and bytes actually read to hash them (the rest were trusted by size and mtime). */
  hashed: { files: number; bytes: number };
}

/** `force`: run even when up to date; `verify`: hash every file instead of trusting size and mtime. */
export async function runStage(stage: Stage, ctx: StageContext, opts: { force?: boolean; verify?: boolean } = {}): Promise<StageOutcome> {
  const t0 = performance.now();
  const recordPath = join(ctx.config.runDir, ".whp", `${stage.name}.json`);
  const record = (await fileExists(recordPath)) ? await readJson(recordPath, stageRecordSchema, "stage record").catch(() => undefined) : undefined;
  const stampsPath = stampsPathOf(ctx, stage);
  const previous = (await fileExists(stampsPath)) ? ((await readJson(stampsPath, stampsFileSchema, "stage stamps").catch(() => undefined))?.stamps ?? {}) : {};
  const hasher = stampedHasher(previous, { verify: opts.verify });
  const fp = await fingerprint(stage, ctx, hasher);
  await removeStaleTemps(stage, ctx, recordPath);
  if (!opts.force && record && (await isUpToDate(record, fp, stage, ctx, hasher))) {
    // Same content, new stamps (a file touched, no stamps file yet): store them, so the next check
    // trusts them again. With nothing touched nothing is written; the record never is.
    if (stampsChanged(previous, hasher.stamps, opts.verify === true)) await writeJsonAtomic(stampsPath, { version: 1, stamps: hasher.stamps });
    ctx.log.info(`${stage.name}: up to date, skipped`);
    return { stage: stage.name, skipped: true, seconds: (performance.now() - t0) / 1000, hashed: hasher.hashed };
  }
  ctx.log.info(`${stage.name}: ${stage.summary}`);
  // Partial work is kept under the fingerprint, so a resumed run never mixes in chunks made from
  // other inputs or another config.
  const partsRoot = join(ctx.config.runDir, ".whp", `${stage.name}.parts`);
  await clearStaleParts(partsRoot, fp.slice(0, 16));
  const stats = await stage.run({ ...ctx, partsDir: () => join(partsRoot, fp.slice(0, 16)) });
  await rm(partsRoot, { recursive: true, force: true });
  const outputs: Record<string, string> = {};
  for (const name of stage.writes) outputs[name] = await hasher.hash(ctx.path(name), stampKey(ctx, ctx.path(name)));
  await writeJsonAtomic(join(ctx.config.runDir, "stats", `${stage.name}.json`), { version: 1, stage: stage.name, ...stats });
  await writeJsonAtomic(recordPath, { version: 1, stage: stage.name, fingerprint: fp, outputs });
  await writeJsonAtomic(stampsPath, { version: 1, stamps: hasher.stamps });
  return { stage: stage.name, skipped: false, seconds: (performance.now() - t0) / 1000, stats, hashed: hasher.hashed };
}

async function isUpToDate(record: StageRecord, fp: string, stage: Stage, ctx: StageContext, hasher: StampedHasher): Promise<boolean> {
  if (record.fingerprint !== fp) return false;
  for (const name of stage.writes) {
    const p = ctx.path(name);
    if (!(await fileExists(p)) || record.outputs[name] !== (await hasher.hash(p, stampKey(ctx, p)))) return false;
  }
  return true;
}

/** Whether the record's stamps need refreshing: a file re-hashed because its stamp was not trusted
 * (a trusted stamp is the recorded object itself). `--verify` re-hashes everything, so there only a
 * differing size, mtime or hash counts. */
function stampsChanged(before: Readonly<Record<string, FileStamp>>, after: Readonly<Record<string, FileStamp>>, verify: boolean): boolean {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const k of keys) {
    const a = before[k];
    const b = after[k];
    if (!a || !b) return true;
    if (a === b) continue;
    if (!verify || a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.sha256 !== b.sha256) return true;
  }
  return false;
}

/** Files under the given paths (directories recursively), with the wanted extensions, sorted, so a
 * corpus is read in the same order on every machine. */
export async function listFiles(paths: readonly string[], extensions: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let info;
    try {
      info = await stat(p);
    } catch {
      throw new UserError(`corpus path not found: ${p}`, "fix the path under `corpus:` in the config (paths are relative to the config file)");
    }
    if (info.isDirectory()) {
      const entries = await readdir(p, { recursive: true, withFileTypes: true });
      for (const e of entries) {
        const full = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
        if (e.isFile() && extensions.some((x) => e.name.toLowerCase().endsWith(x.toLowerCase()))) out.push(full);
      }
    } else {
      out.push(p);
    }
  }
  return [...new Set(out)].sort();
}

async function clearStaleParts(dir: string, keep: string): Promise<void> {
  if (!(await fileExists(dir))) return;
  for (const name of await readdir(dir)) if (name !== keep) await rm(join(dir, name), { recursive: true, force: true });
}

/**
 * A killed stage leaves its atomic writes' temp files (`labels.jsonl.<pid>.<id>.tmp`, the staged
 * `dataset.<pid>.<id>.tmp/` folder). Before it runs again, the stage removes the ones named after its own
 * outputs, its stats, its record and its stamps, and only those, and never one whose process is still
 * running.
 */
export async function removeStaleTemps(stage: Stage, ctx: StageContext, recordPath: string): Promise<string[]> {
  const runDir = ctx.config.runDir;
  const targets = [...stage.writes.map((name) => ctx.path(name)), join(runDir, "stats", `${stage.name}.json`), recordPath, stampsPathOf(ctx, stage)];
  // An artifact inside a folder (dataset/manifest.json) is written by staging the whole folder.
  for (const name of stage.writes) if (ARTIFACTS[name].includes("/")) targets.push(join(runDir, ARTIFACTS[name].split("/")[0]));
  const removed: string[] = [];
  for (const target of targets) {
    const dir = dirname(target);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!isStaleTemp(dir, basename(target), name)) continue;
      await rm(join(dir, name), { recursive: true, force: true });
      removed.push(relative(runDir, join(dir, name)));
    }
  }
  if (removed.length) ctx.log.info(`${stage.name}: removed ${removed.length} temp file(s) a killed run left: ${removed.join(", ")}`);
  return removed;
}
