/**
 * The streamed stages (issue 17: ingest, tokenize, translate and export write their files row by row
 * to a temp file renamed at the end) on a finished run: a bad input row or file in the middle makes
 * the stage fail naming it, and leaves every previous output file as it was (the same file, not a
 * rewrite) and no temp file behind. Files that do not belong together are refused with the row named.
 */
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../pipeline/config.js";
import { memoryLogger } from "../pipeline/io/log.js";
import { createContext, type Stage } from "../pipeline/stage.js";
import { exportStage } from "../pipeline/stages/export.js";
import { ingestStage } from "../pipeline/stages/ingest.js";
import { tokenizeStage } from "../pipeline/stages/tokenize.js";
import { translateStage } from "../pipeline/stages/translate.js";
import { whpCli } from "./helpers/capture.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
  const r = await whpCli(fx.configPath, "run");
  expect(r.code).toBe(0);
}, 120_000);
afterAll(async () => {
  if (fx) await rm(fx.dir, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

/** Every file of the run folder: bytes and inode (a file rewritten with the same bytes is a new inode). */
async function snapshot(): Promise<Map<string, { text: string; ino: number }>> {
  const out = new Map<string, { text: string; ino: number }>();
  for (const f of await filesUnder(fx.runDir)) out.set(f, { text: await readFile(join(fx.runDir, f), "latin1"), ino: (await stat(join(fx.runDir, f))).ino });
  return out;
}

/** Breaks one input (returns how to put it back), runs the stage, and checks the run folder after. */
async function failsLeavingOutputs(stage: Stage, breakInput: () => Promise<() => Promise<void>>, message: string | RegExp): Promise<void> {
  const before = await snapshot();
  const restore = await breakInput();
  try {
    const ctx = createContext(await loadConfig(fx.configPath), memoryLogger());
    await expect(stage.run(ctx)).rejects.toThrow(message);
    const after = await snapshot();
    expect([...after.keys()].filter((f) => f.endsWith(".tmp") || f.includes(".tmp/"))).toEqual([]);
    for (const name of stage.writes) {
      const file = ctx.path(name);
      const key = relative(fx.runDir, file);
      expect(after.get(key), key).toEqual(before.get(key));
    }
    // Nothing else changed either (the stage's inputs, one of them broken here, aside).
    const inputs = new Set(stage.reads.map((name) => relative(fx.runDir, ctx.path(name))));
    for (const [k, v] of before) if (!inputs.has(k) && after.get(k)?.text !== v.text) expect.fail(`${k} changed`);
  } finally {
    await restore();
  }
}

/** Replaces line `n` (1-based) of a run file by `text`. */
async function replaceLine(file: string, n: number, edit: (line: string) => string): Promise<() => Promise<void>> {
  const path = join(fx.runDir, file);
  const original = await readFile(path, "utf8");
  const lines = original.split("\n");
  expect(lines.length).toBeGreaterThan(n);
  lines[n - 1] = edit(lines[n - 1]);
  await writeFile(path, lines.join("\n"));
  return () => writeFile(path, original);
}

describe("a streamed stage failing mid-stream", () => {
  it("ingest: a binary file between two chapters is refused, documents.jsonl stays", async () => {
    await failsLeavingOutputs(
      ingestStage,
      async () => {
        const [first] = (await readdir(join(fx.dir, "forget"))).sort();
        const bad = join(fx.dir, "forget", `${first.replace(/\.txt$/, "")}-b.txt`);
        await writeFile(bad, Buffer.from([0x41, 0x00, 0x42, 0xff]));
        return () => rm(bad);
      },
      /1 file\(s\) in corpus.forget cannot be read as text/,
    );
  });

  it("ingest: a bad general file, read after every forget document, still leaves documents.jsonl as it was", async () => {
    await failsLeavingOutputs(
      ingestStage,
      async () => {
        const bad = join(fx.dir, "general", "zz-binary.txt");
        await writeFile(bad, Buffer.from([0x00, 0x01, 0xff]));
        return () => rm(bad);
      },
      /corpus.general cannot be read as text/,
    );
  });

  it("tokenize: a bad general document, after every forget block is cut, leaves blocks.jsonl as it was", async () => {
    await failsLeavingOutputs(tokenizeStage, () => replaceLine("general-documents.jsonl", 1, (l) => l.replace('"text":', '"txt":')), "general-documents.jsonl line 1: text: expected string, got nothing (missing)");
  });

  it("tokenize: a bad row in the middle of documents.jsonl", async () => {
    // Two chapters: the second is read after the first chapter's blocks were written.
    await failsLeavingOutputs(tokenizeStage, () => replaceLine("documents.jsonl", 2, (l) => l.replace(/"bom":false/, '"bom":"no"')), /documents.jsonl line 2: bom: expected boolean/);
  });

  it("translate: a bad block in the middle of blocks.jsonl leaves aligned.jsonl as it was", async () => {
    await failsLeavingOutputs(translateStage, () => replaceLine("blocks.jsonl", 10, (l) => l.replace('"input_ids":[', '"input_ids":["x",')), /blocks.jsonl line 10: input_ids.0: expected number/);
  });

  it("export: a bad label row in the middle leaves train.jsonl, manifest.json and dataset/ as they were", async () => {
    await failsLeavingOutputs(exportStage, () => replaceLine("labels.jsonl", 10, (l) => l.replace('"uncertified":[', '"uncertified":[0.5,')), /labels.jsonl line 10: uncertified.0: expected int/);
  });
});

describe("files that do not belong together", () => {
  it("export: an aligned.jsonl missing a row names the row and both blocks", async () => {
    await failsLeavingOutputs(
      exportStage,
      async () => {
        const path = join(fx.runDir, "aligned.jsonl");
        const original = await readFile(path, "utf8");
        const lines = original.split("\n");
        const dropped = JSON.parse(lines[4]).id as string;
        const next = JSON.parse(lines[5]).id as string;
        lines.splice(4, 1);
        await writeFile(path, lines.join("\n"));
        expect(dropped).not.toBe(next);
        return () => writeFile(path, original);
      },
      /^aligned.jsonl does not match blocks.jsonl: at row 5 aligned.jsonl has ".*#\d+", blocks.jsonl has ".*#\d+"$/,
    );
  });

  it("export: a labels.jsonl with a row too many is refused", async () => {
    await failsLeavingOutputs(
      exportStage,
      async () => {
        const path = join(fx.runDir, "labels.jsonl");
        const original = await readFile(path, "utf8");
        const lines = original.trimEnd().split("\n");
        await writeFile(path, `${original}${lines[0]}\n`);
        return () => writeFile(path, original);
      },
      new RegExp(`^labels.jsonl does not match blocks.jsonl: at row \\d+ labels.jsonl has ".*", blocks.jsonl has no more blocks$`),
    );
  });

  it("translate: a block whose document is not in documents.jsonl is refused, naming the block", async () => {
    await failsLeavingOutputs(
      translateStage,
      async () => {
        const path = join(fx.runDir, "documents.jsonl");
        const original = await readFile(path, "utf8");
        await writeFile(path, original.split("\n")[0] + "\n");
        return () => writeFile(path, original);
      },
      /^blocks.jsonl: block ".*#0" is of document ".*", which documents.jsonl does not hold after ".*"$/,
    );
  });
});
