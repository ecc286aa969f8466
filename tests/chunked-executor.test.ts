/**
 * The chunked executor (pipeline/runner/chunked.ts) on a toy stage (item n -> row { id, v: n * 10 }):
 * resume accepts a leftover chunk only when it holds exactly the expected items, shards split the
 * chunks c % n and merge into the rows of a plain run, a merge names the shard of a missing chunk,
 * rows are validated when written, and the input stream is never read further ahead than the
 * scheduler's window (memory flat in corpus size).
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { UserError } from "../pipeline/core/errors.js";
import { chunkPath } from "../pipeline/runner/chunk-files.js";
import { type ChunkedMode, runChunked } from "../pipeline/runner/chunked.js";
import { chunkWindow } from "../pipeline/runner/schedule.js";
import { shardRecordBaseSchema } from "../pipeline/schemas/shards.js";

const rowSchema = z.object({ id: z.string(), v: z.number().int() });
type Row = z.infer<typeof rowSchema>;
const recordSchema = shardRecordBaseSchema.extend({ model: z.string() });

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function toy(n: number, chunkItems = 3) {
  const dir = await mkdtemp(join(tmpdir(), "whp-chunked-"));
  dirs.push(dir);
  const computed: number[] = [];
  let pulled = 0;
  let passes = 0;
  let maxAhead = 0;
  const spec = {
    stage: "toy",
    async *items() {
      // Pass 1 is the survey (it keeps only ids); pass 2 feeds the scheduler: measured there.
      const work = ++passes % 2 === 0;
      pulled = 0;
      for (let i = 0; i < n; i++) {
        pulled++;
        if (work) maxAhead = Math.max(maxAhead, pulled - computed.length);
        yield i;
      }
    },
    idOf: (i: number) => `b${i}`,
    chunkItems,
    chunkSchema: rowSchema,
    partsDir: join(dir, "parts"),
    shardDir: join(dir, "shards", "toy-key"),
    shardRecordSchema: recordSchema,
    runDir: dir,
    shardCommand: "whp toy --shard i/n",
  };
  const run = async (mode: ChunkedMode, compute: (i: number) => Row = (i) => ({ id: `b${i}`, v: i * 10 }), inFlight = 1, onPrepare?: () => Promise<void>) => {
    const rows: Row[] = [];
    passes = 0;
    maxAhead = 0;
    computed.length = 0;
    const res = await runChunked(spec, mode, {
      prepare: async () => (await onPrepare?.(), {
        meta: { model: "m" },
        inFlight,
        compute: async (i) => {
          await new Promise((r) => setTimeout(r, 0));
          computed.push(i);
          return compute(i);
        },
      }),
      assemble: async (it) => {
        for await (const r of it) rows.push(r);
      },
    });
    return { res, rows, computed: [...computed].sort((a, b) => a - b), maxAhead };
  };
  return { dir, spec, run };
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `b${i}`, v: i * 10 }));

describe("chunked executor", () => {
  it("assembles every chunk's rows in order", async () => {
    const t = await toy(10);
    const { rows, computed, res } = await t.run({ kind: "run" });
    expect(rows).toEqual(expected(10));
    expect(computed).toEqual(expected(10).map((_, i) => i));
    expect(res).toMatchObject({ items: 10, chunks: 4, todo: 4, resumed: 0, meta: { model: "m" } });
  });

  it("resumes from leftover chunks that hold exactly the expected items, and recomputes the others", async () => {
    const t = await toy(10);
    await t.run({ kind: "run" });
    // chunk 1 made under another chunk size (2 items), chunk 2 holding chunk 3's... ids, chunk 3 torn.
    await writeFile(chunkPath(t.spec.partsDir, 1), `${JSON.stringify({ id: "b3", v: 30 })}\n${JSON.stringify({ id: "b4", v: 40 })}\n`);
    await writeFile(chunkPath(t.spec.partsDir, 2), `${JSON.stringify({ id: "b9", v: 1 })}\n${JSON.stringify({ id: "b7", v: 1 })}\n${JSON.stringify({ id: "b8", v: 1 })}\n`);
    await writeFile(chunkPath(t.spec.partsDir, 3), '{"id":"b9","v":9');
    const again = await t.run({ kind: "run" });
    expect(again.computed).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(again.rows).toEqual(expected(10));
    expect(again.res.resumed).toBe(1);
  });

  it("a leftover that changes after the survey validated it is validated again at assembly", async () => {
    const t = await toy(6);
    await t.run({ kind: "run" });
    await rm(chunkPath(t.spec.partsDir, 1));
    // Chunk 0 is a valid leftover at the survey, then edited (another size) before assembly.
    const edit = () => writeFile(chunkPath(t.spec.partsDir, 0), `${JSON.stringify({ id: "b0", v: 0.5 })}\n`);
    await expect(t.run({ kind: "run" }, undefined, 1, edit)).rejects.toThrow(/chunk-000000\.jsonl changed while the stage ran/);
  });

  it("a leftover whose rows do not match the chunk schema is recomputed", async () => {
    const t = await toy(3);
    await t.run({ kind: "run" });
    await writeFile(chunkPath(t.spec.partsDir, 0), ["b0", "b1", "b2"].map((id) => JSON.stringify({ id, v: "x" })).join("\n"));
    const again = await t.run({ kind: "run" });
    expect(again.computed).toEqual([0, 1, 2]);
    expect(again.rows).toEqual(expected(3));
  });

  it("shards split the chunks c % n, and their merge gives the plain run's rows", async () => {
    const t = await toy(11);
    const s0 = await t.run({ kind: "shard", shard: { index: 0, count: 2 } });
    expect(s0.computed).toEqual([0, 1, 2, 6, 7, 8]);
    const s1 = await t.run({ kind: "shard", shard: { index: 1, count: 2 } });
    expect(s1.computed).toEqual([3, 4, 5, 9, 10]);
    expect((await readdir(t.spec.shardDir)).filter((f) => f.startsWith("shard-")).sort()).toEqual(["shard-0-of-2.json", "shard-1-of-2.json"]);
    const merged = await t.run({ kind: "merge" }, () => {
      throw new Error("a merge computes nothing");
    });
    expect(merged.rows).toEqual(expected(11));
    expect(merged.res.meta).toEqual({ model: "m" });
  });

  it("a merge with a chunk missing names the shard that makes it", async () => {
    const t = await toy(11);
    await t.run({ kind: "shard", shard: { index: 0, count: 3 } });
    const err = await t.run({ kind: "merge" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/2 of 4 toy chunk\(s\) are missing \(first: chunk 1, from shard 1\/3\)/);
  });

  it("a row the stage built wrongly is refused when its chunk is written", async () => {
    const t = await toy(4);
    await expect(t.run({ kind: "run" }, (i) => ({ id: `b${i}`, v: 0.5 }))).rejects.toThrow(/writing chunk-000000\.jsonl row 1: v: expected int/);
  });

  it("reads the input no further ahead than the window, whatever the corpus size", async () => {
    const inFlight = 4;
    const chunkItems = 3;
    const bound = chunkWindow(inFlight, chunkItems) * chunkItems;
    for (const n of [30, 300]) {
      const t = await toy(n, chunkItems);
      const r = await t.run({ kind: "run" }, undefined, inFlight);
      expect(r.rows).toEqual(expected(n));
      // The survey pass reads ahead of nothing it keeps; the work pass holds at most the window.
      expect(r.maxAhead).toBeLessThanOrEqual(bound + 1);
    }
  });
});
