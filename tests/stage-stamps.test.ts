/**
 * The runner trusts a file whose size and mtime match its stage record (issue 17: a no-op run read
 * every artifact byte), re-hashes any other, and `verify` re-hashes everything. A two-artifact stage
 * (documents.jsonl -> blocks.jsonl) on disk, run through the real runStage; `hashed` counts the
 * bytes actually read, so "nothing re-hashed" is observed, not assumed.
 */
import { mkdtemp, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ResolvedConfig } from "../pipeline/config.js";
import { createLogger } from "../pipeline/io/log.js";
import { ARTIFACTS, createContext, runStage, type Stage, type StageContext } from "../pipeline/stage.js";

/** utimes cannot set an arbitrary sub-millisecond mtime back exactly, so the files start at a whole
 * second (an hour ago) and editKeepingMtime can restore it to the bit. */
const WHOLE_SECOND = Math.floor(Date.now() / 1000) - 3600;

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), "whp-stamps-"));
  const config = { runDir: dir, baseDir: dir } as unknown as ResolvedConfig;
  const ctx: StageContext = {
    ...createContext(config, createLogger({ quiet: true })),
    tokenizer: () => Promise.reject(new Error("no tokenizer in this test")),
  };
  let runs = 0;
  const stage: Stage = {
    name: "upper",
    summary: "upper-cases documents.jsonl into blocks.jsonl",
    version: 1,
    reads: ["documents"],
    writes: ["blocks"],
    fingerprintInputs: async () => ({ config: { upper: true }, files: [] }),
    run: async (c) => {
      runs++;
      await writeFile(c.path("blocks"), (await readFile(c.path("documents"), "utf8")).toUpperCase());
      await utimes(c.path("blocks"), WHOLE_SECOND, WHOLE_SECOND);
      return {};
    },
  };
  const documents = ctx.path("documents");
  await writeFile(documents, '{"text":"abc"}\n');
  await utimes(documents, WHOLE_SECOND, WHOLE_SECOND);
  return { ctx, stage, documents, blocks: ctx.path("blocks"), runs: () => runs };
}

/** Rewrites the file's bytes (same length) and puts its mtime (and atime) back as they were. */
async function editKeepingMtime(path: string, text: string): Promise<void> {
  const before = await stat(path);
  await writeFile(path, text);
  await utimes(path, before.atime, before.mtime);
  expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
}

describe("stage records: size + mtime + stored hash", () => {
  it("a run with nothing changed re-hashes nothing and skips", async () => {
    const t = await setup();
    const first = await runStage(t.stage, t.ctx);
    expect(first.skipped).toBe(false);
    // The first run reads the input (fingerprint) and the output it wrote.
    expect(first.hashed.files).toBe(2);
    const again = await runStage(t.stage, t.ctx);
    expect(again).toMatchObject({ skipped: true, hashed: { files: 0, bytes: 0 } });
    expect(t.runs()).toBe(1);
  });

  it("an input with the same size and a new mtime is re-hashed, and the stage re-runs when its bytes changed", async () => {
    const t = await setup();
    await runStage(t.stage, t.ctx);
    await writeFile(t.documents, '{"text":"xyz"}\n');
    // Make sure the mtime moved even on a coarse clock.
    const s = await stat(t.documents);
    await utimes(t.documents, s.atime, new Date(s.mtimeMs + 5000));
    const r = await runStage(t.stage, t.ctx);
    expect(r.skipped).toBe(false);
    expect(t.runs()).toBe(2);
    expect(await readFile(t.blocks, "utf8")).toBe('{"TEXT":"XYZ"}\n');
  });

  it("a touched file with the same bytes is re-hashed once, stays skipped, and is trusted again after", async () => {
    const t = await setup();
    await runStage(t.stage, t.ctx);
    const s = await stat(t.documents);
    await utimes(t.documents, s.atime, new Date(s.mtimeMs + 5000));
    expect(await runStage(t.stage, t.ctx)).toMatchObject({ skipped: true, hashed: { files: 1 } });
    expect(await runStage(t.stage, t.ctx)).toMatchObject({ skipped: true, hashed: { files: 0 } });
    expect(t.runs()).toBe(1);
  });

  it("an edit that keeps size and mtime goes unnoticed without verify (the trade-off) and is found with it", async () => {
    const t = await setup();
    await runStage(t.stage, t.ctx);
    await editKeepingMtime(t.documents, '{"text":"xyz"}\n');
    expect(await runStage(t.stage, t.ctx)).toMatchObject({ skipped: true, hashed: { bytes: 0 } });
    expect(t.runs()).toBe(1);
    const verified = await runStage(t.stage, t.ctx, { verify: true });
    expect(verified.skipped).toBe(false);
    expect(t.runs()).toBe(2);
    expect(await readFile(t.blocks, "utf8")).toBe('{"TEXT":"XYZ"}\n');
  });

  it("verify also finds an output edited with its mtime put back, and re-runs the stage", async () => {
    const t = await setup();
    await runStage(t.stage, t.ctx);
    await editKeepingMtime(t.blocks, '{"TEXT":"ABD"}\n');
    expect((await runStage(t.stage, t.ctx)).skipped).toBe(true);
    const verified = await runStage(t.stage, t.ctx, { verify: true });
    expect(verified).toMatchObject({ skipped: false });
    expect(verified.hashed.bytes).toBeGreaterThan(0);
    expect(await readFile(t.blocks, "utf8")).toBe('{"TEXT":"ABC"}\n');
  });
});
