/**
 * The labels stage's items (stages/labels-inputs.ts labelItems) over the executor's two passes: the
 * first validates every row; a later pass over unchanged files only parses them; a file changed
 * since (or a first pass that stopped early) is validated again, so a bad row is still refused.
 */
import { mkdtemp, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../pipeline/core/errors.js";
import { type ArtifactName, streamArtifact } from "../pipeline/schemas/registry.js";
import type { StageContext } from "../pipeline/stage.js";
import { checkedRows, labelItems } from "../pipeline/stages/labels-inputs.js";

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const block = (i: number) => ({ id: `b${i}`, doc: "d", index: i, span: [0, 2], input_ids: [1, 2 + i], starts: [0, 1], ends: [1, 2] });
const aligned = (i: number, map: unknown[] = [0, 1]) => ({ id: `b${i}`, translated_ids: [1, 5 + i], map, forbidden: [], occurrences: [], unaligned: [] });
const jsonl = (rows: unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join("");

async function fixture() {
  const dir = await mkdtemp(join(tmpdir(), "whp-labels-inputs-"));
  dirs.push(dir);
  const files: Partial<Record<ArtifactName, string>> = { blocks: join(dir, "blocks.jsonl"), aligned: join(dir, "aligned.jsonl") };
  await writeFile(files.blocks!, jsonl([block(0), block(1), block(2)]));
  await writeFile(files.aligned!, jsonl([aligned(0), aligned(1), aligned(2)]));
  // Whole-second mtimes, so sameStamp can put one back exactly.
  for (const file of [files.blocks!, files.aligned!]) await utimes(file, 1_700_000_000, 1_700_000_000);
  const paths = { path: (name: ArtifactName) => files[name]! };
  let streams = 0; // the registry's validated streams opened: only when a quick check refused a row
  const ctx = { ...paths, stream: (name: "blocks" | "aligned") => (streams++, streamArtifact(paths, name)) } as unknown as StageContext;
  const all = async (it: AsyncIterable<unknown>) => {
    const out: unknown[] = [];
    for await (const x of it) out.push(x);
    return out;
  };
  return { files, ctx, all, streams: () => streams };
}

/** Replaces a file's text with `text` of the same length, keeping its mtime: what the stamp cannot see. */
async function sameStamp(file: string, text: string) {
  const before = await stat(file);
  expect(Buffer.byteLength(text)).toBe(before.size);
  await writeFile(file, text);
  await utimes(file, before.atime, before.mtime);
}

// As long as aligned(1)'s map [0,1] in JSON, and not valid: a fractional map entry.
const badMap = [0.5];

describe("the labels stage's items over two passes", () => {
  it("validates the first pass and only parses a second one over unchanged files, with the same items", async () => {
    const f = await fixture();
    const items = labelItems(f.ctx);
    const first = await f.all(items());
    expect(first).toHaveLength(3);
    expect(f.streams()).toBe(0); // every row passed the quick checks: the schemas had nothing to decide
    expect(await f.all(items())).toEqual(first);
    // A bad row the stamp cannot see is not looked at again: the second pass only parses.
    await sameStamp(f.files.aligned!, jsonl([aligned(0), aligned(1, badMap), aligned(2)]));
    await expect(f.all(items())).resolves.toHaveLength(3);
  });

  it("validates again when a file changed after the first pass: a bad row is refused with the registry's message", async () => {
    const f = await fixture();
    const items = labelItems(f.ctx);
    await f.all(items());
    await writeFile(f.files.aligned!, jsonl([aligned(0), aligned(1, ["x", 1]), aligned(2)]));
    await utimes(f.files.aligned!, new Date(), new Date(Date.now() + 5000)); // a distinct mtime whatever the clock's grain
    await expect(f.all(items())).rejects.toThrow(UserError);
    await expect(f.all(items())).rejects.toThrow(/^aligned\.jsonl line 2: map\.0/);
  });

  it("a first pass that stopped early does not vouch for the files", async () => {
    const f = await fixture();
    const items = labelItems(f.ctx);
    for await (const _ of items()) break;
    await sameStamp(f.files.aligned!, jsonl([aligned(0), aligned(1, badMap), aligned(2)]));
    await expect(f.all(items())).rejects.toThrow(/aligned\.jsonl line 2/);
  });

  it("the first pass refuses a bad row as the registry's stream does, and yields the good rows before it once", async () => {
    const f = await fixture();
    await writeFile(f.files.blocks!, jsonl([block(0), { ...block(1), index: 1.5 }, block(2)]));
    const seen: string[] = [];
    const err = await (async () => {
      for await (const it of labelItems(f.ctx)()) seen.push((it as { block: { id: string } }).block.id);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["b0"]);
    expect(err).toBeInstanceOf(UserError);
    let registry: unknown;
    try {
      for await (const _ of streamArtifact({ path: (n: ArtifactName) => f.files[n]! }, "blocks"));
    } catch (e) {
      registry = e;
    }
    expect((err as Error).message).toBe((registry as Error).message);
  });

  it("a good row the quick check refuses is decided by the schema: every row once, in order", async () => {
    const f = await fixture();
    const rows: unknown[] = [];
    for await (const r of checkedRows(f.ctx, "blocks", (r) => (r as { id: string }).id !== "b1")) rows.push(r);
    expect(rows).toEqual([block(0), block(1), block(2)]);
    expect(f.streams()).toBe(1);
  });
});
