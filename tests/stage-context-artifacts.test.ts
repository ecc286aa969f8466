/** StageContext's artifact methods (issue 12 item 3): ctx.read / stream / write / writer go through the
 * registry, so they validate on both sides: a bad row on disk names file, line and field; a bad row a
 * stage builds is refused before anything reaches the disk. */
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ResolvedConfig } from "../pipeline/config.js";
import { createLogger } from "../pipeline/io/log.js";
import { createContext } from "../pipeline/stage.js";

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function context() {
  const dir = await mkdtemp(join(tmpdir(), "whp-ctx-"));
  dirs.push(dir);
  return { dir, ctx: createContext({ runDir: dir, baseDir: dir } as unknown as ResolvedConfig, createLogger({ quiet: true })) };
}
const block = (id: string) => ({ id, doc: "a.txt", index: 0, span: [0, 3] as [number, number], input_ids: [1, 2], starts: [0, 0], ends: [0, 3] });

describe("StageContext artifact methods", () => {
  it("write then read and stream give the rows back; the bytes are the stage's own", async () => {
    const { dir, ctx } = await context();
    const text = await ctx.write("blocks", [block("a#0"), block("a#1")]);
    expect(await readFile(join(dir, "blocks.jsonl"), "utf8")).toBe(text);
    expect((await ctx.read("blocks")).map((b) => b.id)).toEqual(["a#0", "a#1"]);
    const streamed: string[] = [];
    for await (const b of ctx.stream("blocks")) streamed.push(b.id);
    expect(streamed).toEqual(["a#0", "a#1"]);
  });

  it("read and stream name file, line and field of a bad row on disk", async () => {
    const { dir, ctx } = await context();
    await writeFile(join(dir, "blocks.jsonl"), `${JSON.stringify(block("a#0"))}\n${JSON.stringify({ ...block("a#1"), input_ids: "1 2" })}\n`);
    await expect(ctx.read("blocks")).rejects.toThrow('blocks.jsonl line 2: input_ids: expected array, got string "1 2"');
    const drain = async () => {
      for await (const _ of ctx.stream("blocks"));
    };
    await expect(drain()).rejects.toThrow("blocks.jsonl line 2: input_ids");
  });

  it("write refuses a row the stage built wrongly and writes nothing", async () => {
    const { dir, ctx } = await context();
    await expect(ctx.write("blocks", [block("a#0"), { ...block("a#1"), span: [0] } as never])).rejects.toThrow("blocks.jsonl row 2: span");
    expect(await readdir(dir)).toEqual([]);
  });

  it("writer validates each row and the file appears only at commit", async () => {
    const { dir, ctx } = await context();
    const w = await ctx.writer("blocks");
    await w.row(block("a#0"));
    expect(await readdir(dir)).not.toContain("blocks.jsonl");
    const done = await w.commit();
    expect(done.rows).toBe(1);
    expect((await ctx.read("blocks")).map((b) => b.id)).toEqual(["a#0"]);
    const bad = await ctx.writer("labels");
    await expect(bad.row({ id: "x", labels: [[1.5]], uncertified: [] })).rejects.toThrow("labels.jsonl row 1: labels.0.0");
  });
});
