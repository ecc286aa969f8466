/**
 * The chunked executor: what every chunked stage shares, so the stage itself is only "items -> rows"
 * (plus its preflight) and the output rows it assembles.
 *
 * - Input streams in. The stage's items (for labels: blocks and aligned rows, paired) are read as a
 *   stream and cut into chunks of `chunkItems` as they come, twice: a survey pass (which chunks are
 *   done, what the rest weighs, what the stage's preflight needs to see, e.g. the longest sequence)
 *   and a work pass that hands only the chunks still to do to the scheduler (runner/schedule.ts), which
 *   reads the stream no further ahead than its window. Memory holds the chunks in flight, never the
 *   corpus.
 * - Resume. Chunk c is `chunk-<c>.jsonl` in the parts folder (a shard run: the shard folder); one left
 *   by an earlier run counts only if it parses with the chunk schema and holds exactly chunk c's items
 *   (runner/chunk-files.ts). A normal run also takes finished chunks from the shard folder.
 * - Shards. `--shard i/n` does chunk c when c % n === i and leaves a shard record; a merge does no work
 *   and stops on the first missing chunk, naming the shard that makes it.
 * - Assembly. The rows of every chunk, in chunk order, one chunk in memory at a time.
 */
import { mkdir } from "node:fs/promises";
import { relative } from "node:path";
import type { LimitFunction } from "p-limit";
import type { z } from "zod";
import { UserError } from "../core/errors.js";
import { sizeAndMtime } from "../io/file-stamps.js";
import type { ShardRecordBase } from "../schemas/shards.js";
import { chunkPath, chunkRows, leftoverChunk, schemaCheck, writeChunk } from "./chunk-files.js";
import { scheduleChunks } from "./schedule.js";
import { ownsChunk, readShardRecords, type Shard, shardCount, writeShardRecord } from "./shards.js";

export type ChunkedMode = { kind: "run" } | { kind: "shard"; shard: Shard } | { kind: "merge" };

export interface ChunkedSpec<Item, Row extends { id: string }, Meta extends object> {
  /** For messages ("labels: resumed, ..."). */
  readonly stage: string;
  /** The stage's items in order, opened afresh for each pass. */
  items(): AsyncIterable<Item>;
  idOf(item: Item): string;
  readonly chunkItems: number;
  readonly chunkSchema: z.ZodType<Row>;
  /** Optional: the chunk schema's verdict on a row this run just built, cheaper than zod (the reason
   * it does not match, or undefined). Leftovers are always parsed with chunkSchema. */
  readonly checkBuilt?: (row: Row) => string | undefined;
  /** Optional: how assembly reads a line of a chunk this run wrote (its own JSON.stringify of a row
   * that passed checkBuilt), JSON.parse by default. Leftovers are always read with JSON.parse. */
  readonly readWritten?: (line: string) => Row;
  /** This run's own chunks (the runner's parts folder, keyed by the stage fingerprint). */
  readonly partsDir: string;
  /** The shard folder, keyed by everything that shapes the chunks. */
  readonly shardDir: string;
  /** The shard record: the base fields plus the stage's Meta. */
  readonly shardRecordSchema: z.ZodType<ShardRecordBase & Meta>;
  /** Run root, for folder names in messages. */
  readonly runDir: string;
  /** How the user makes the missing chunks of a merge (the shard command). */
  readonly shardCommand: string;
}

/** What the survey pass found: items and chunks, how many are still to do and how many were done. */
export interface Survey {
  items: number;
  chunks: number;
  todo: number;
  resumed: number;
}

/** The work a stage does once it has seen the survey: the per-item task and its concurrency. */
export interface Work<Item, Row, Meta> {
  meta: Meta;
  inFlight: number;
  compute(item: Item): Promise<Row>;
  /** Called when the last chunk is done (progress bars, cache counters). */
  done?(): void;
}

export interface ChunkedHooks<Item, Row, Meta> {
  /** Sees every item in the survey pass, before any work (the stage's preflight inputs). */
  observe?(item: Item, index: number, todo: boolean): void;
  /** Not called by a merge. Sees the survey; returns the work (after any preflight). */
  prepare(survey: Survey): Promise<Work<Item, Row, Meta>>;
  /** Not called by a shard run. The rows of every chunk in order, and the meta (a merge: the shards'). */
  assemble(rows: AsyncIterable<Row>, meta: Meta): Promise<void>;
}

interface ChunkAt {
  file: string;
  /** A leftover from an earlier run: its size and mtime when the survey validated it. Assembly
   * validates it again only if they changed since (resume stays safe without checking every number
   * twice); a chunk this run wrote has none (validated as it was written). */
  surveyed?: string;
}

/** Cuts a stream of items into chunks of `size`, numbered from 0. */
async function* cut<Item>(items: AsyncIterable<Item>, size: number): AsyncGenerator<{ c: number; items: Item[] }> {
  let c = 0;
  let buf: Item[] = [];
  for await (const item of items) {
    buf.push(item);
    if (buf.length === size) {
      yield { c: c++, items: buf };
      buf = [];
    }
  }
  if (buf.length) yield { c, items: buf };
}

export async function runChunked<Item, Row extends { id: string }, Meta extends object>(
  spec: ChunkedSpec<Item, Row, Meta>,
  mode: ChunkedMode,
  hooks: ChunkedHooks<Item, Row, Meta>,
): Promise<Survey & { meta: Meta }> {
  const outDir = mode.kind === "shard" ? spec.shardDir : spec.partsDir;
  await mkdir(outDir, { recursive: true });
  const owns = (c: number) => mode.kind !== "shard" || ownsChunk(mode.shard, c);

  // Survey: which chunks are done, and where.
  const done = new Map<number, ChunkAt>();
  const ids: string[][] = [];
  const todo = new Set<number>();
  let items = 0;
  let chunks = 0;
  for await (const chunk of cut(spec.items(), spec.chunkItems)) {
    const chunkIds = chunk.items.map((it) => spec.idOf(it));
    ids.push(chunkIds);
    chunks = chunk.c + 1;
    let at: ChunkAt | undefined;
    if (owns(chunk.c)) {
      for (const dir of mode.kind === "shard" ? [outDir] : [outDir, spec.shardDir]) {
        const file = chunkPath(dir, chunk.c);
        const before = await sizeAndMtime(file);
        if (before && (await leftoverChunk(file, spec.chunkSchema, chunkIds))) {
          at = { file, surveyed: before };
          break;
        }
      }
      if (at) done.set(chunk.c, at);
      else todo.add(chunk.c);
    }
    chunk.items.forEach((it, j) => hooks.observe?.(it, items + j, !at && owns(chunk.c)));
    items += chunk.items.length;
  }
  const survey: Survey = { items, chunks, todo: todo.size, resumed: done.size };

  let meta: Meta;
  if (mode.kind === "merge") {
    if (todo.size) {
      const first = Math.min(...todo);
      const count = await shardCount(spec.shardDir);
      throw new UserError(
        `cannot merge: ${todo.size} of ${chunks} ${spec.stage} chunk(s) are missing (first: chunk ${first}${count ? `, from shard ${first % count}/${count}` : ""})`,
        `run the missing shards (\`${spec.shardCommand}\`) and copy their ${relative(spec.runDir, spec.shardDir)} folders into ${spec.runDir}`,
      );
    }
    const { version: _v, index: _i, count: _c, chunks: _n, ...rest } = await readShardRecords(spec.shardDir, spec.shardRecordSchema);
    meta = rest as unknown as Meta;
  } else {
    const work = await hooks.prepare(survey);
    meta = work.meta;
    const pending = async function* () {
      for await (const chunk of cut(spec.items(), spec.chunkItems)) if (todo.has(chunk.c)) yield chunk;
    };
    await scheduleChunks(pending(), work.inFlight, spec.chunkItems, async (chunk, limit: LimitFunction) => {
      const rows = await Promise.all(chunk.items.map((it) => limit(() => work.compute(it))));
      done.set(chunk.c, { file: await writeChunk(outDir, chunk.c, rows, spec.checkBuilt ?? schemaCheck(spec.chunkSchema)) });
    });
    work.done?.();
  }

  if (mode.kind === "shard") {
    const { index, count } = mode.shard;
    await writeShardRecord(spec.shardDir, { version: 1, index, count, chunks, ...meta });
    return { ...survey, meta };
  }
  const ordered = async function* () {
    for (let c = 0; c < chunks; c++) {
      const at = done.get(c);
      if (!at) throw new Error(`${spec.stage}: chunk ${c} is neither done nor to do (executor bug)`);
      const changed = at.surveyed !== undefined && (await sizeAndMtime(at.file)) !== at.surveyed;
      yield* await chunkRows(at.file, spec.chunkSchema, ids[c], changed, at.surveyed ? undefined : spec.readWritten);
    }
  };
  await hooks.assemble(ordered(), meta);
  return { ...survey, meta };
}
