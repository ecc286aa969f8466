/**
 * The labels stage's items (stages/labels-inputs.ts labelItems) over the executor's two passes: the
 * first validates every row; a later pass over unchanged files only parses them; a file changed
 * since (or a first pass that stopped early) is validated again, so a bad row is still refused.
 */
import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../pipeline/core/errors.js";
import { type ArtifactName, streamArtifact } from "../pipeline/schemas/registry.js";
import type { StageContext } from "../pipeline/stage.js";
import { labelItems } from "../pipeline/stages/labels-inputs.js";

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
  let validatedStreams = 0;
  const paths = { path: (name: ArtifactName) => files[name]! };
  const ctx = { ...paths, stream: (name: "blocks" | "aligned") => (validatedStreams++, streamArtifact(paths, name)) } as unknown as StageContext;
  const all = async (it: AsyncIterable<unknown>) => {
    const out: unknown[] = [];
    for await (const x of it) out.push(x);
    return out;
  };
  return { files, ctx, all, validated: () => validatedStreams };
}

describe("the labels stage's items over two passes", () => {
  it("validates the first pass and only parses a second one over unchanged files, with the same items", async () => {
    const f = await fixture();
    const items = labelItems(f.ctx);
    const first = await f.all(items());
    expect(f.validated()).toBe(2);
    const second = await f.all(items());
    expect(f.validated()).toBe(2);
    expect(second).toEqual(first);
    expect(first).toHaveLength(3);
  });

  it("validates again when a file changed after the first pass: a bad row is refused", async () => {
    const f = await fixture();
    const items = labelItems(f.ctx);
    await f.all(items());
    await writeFile(f.files.aligned!, jsonl([aligned(0), aligned(1, ["x", 1]), aligned(2)]));
    await utimes(f.files.aligned!, new Date(), new Date(Date.now() + 5000)); // a distinct mtime whatever the clock's grain
    await expect(f.all(items())).rejects.toThrow(UserError);
    await expect(f.all(items())).rejects.toThrow(/aligned\.jsonl line 2/);
  });

  it("a first pass that stopped early does not vouch for the files", async () => {
    const f = await fixture();
    const items = labelItems(f.ctx);
    for await (const _ of items()) break;
    await f.all(items());
    expect(f.validated()).toBe(4);
  });
});
