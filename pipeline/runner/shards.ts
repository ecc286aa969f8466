/**
 * `--shard i/n` for a chunked stage: chunk c belongs to shard c % n; a shard run writes its chunks and
 * a record (`shard-i-of-n.json`) into a folder keyed by everything that shapes the chunks, so shards
 * made from other inputs or another config are never merged; `whp merge` assembles the folder.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import { fileExists, readJson, writeJsonAtomic } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";
import { canonicalJson } from "../core/hash.js";
import type { ShardRecordBase } from "../schemas/shards.js";

export interface Shard {
  index: number;
  count: number;
}

/** Parses "i/n" (0-based i). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new UserError(`--shard expects i/n with 0 <= i < n, got "${text}"`, "write e.g. --shard 0/4 (shards are numbered from 0)");
  return { index, count };
}

export const ownsChunk = (shard: Shard, c: number): boolean => c % shard.count === shard.index;

const RECORD_NAME = /^shard-\d+-of-(\d+)\.json$/;

export async function writeShardRecord<R extends ShardRecordBase>(dir: string, record: R): Promise<void> {
  await writeJsonAtomic(join(dir, `shard-${record.index}-of-${record.count}.json`), record);
}

/** The shard count of the records in `dir` (0 when there is none), to name the shard to run. */
export async function shardCount(dir: string): Promise<number> {
  if (!(await fileExists(dir))) return 0;
  const names = (await readdir(dir)).filter((n) => RECORD_NAME.test(n));
  return names.length ? Number(RECORD_NAME.exec(names[0])![1]) : 0;
}

/** The shards' records, which must agree on everything but their index (the shard count, the models). */
export async function readShardRecords<R extends ShardRecordBase>(dir: string, schema: z.ZodType<R>): Promise<R> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => RECORD_NAME.test(n)).sort();
  if (!names.length) throw new UserError(`no finished shard in ${dir}`, "run `whp labels --shard i/n` for every shard first");
  const records = await Promise.all(names.map((n) => readJson(join(dir, n), schema, "shard record")));
  const rest = ({ index: _index, ...r }: R) => canonicalJson(r);
  const first = records[0];
  for (const r of records) {
    if (rest(r) !== rest(first)) {
      throw new UserError(`shard records in ${dir} disagree (shard ${r.index}/${r.count} vs ${first.index}/${first.count}: models or shard count differ)`, "re-run the shards with the same config and servers");
    }
  }
  return first;
}
