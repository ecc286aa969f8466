/** The artifact registry (pipeline/schemas/registry.ts): readArtifact / writeArtifact validate both
 * sides and name the file, the line and the field of a mismatch. */
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { toJsonlText } from "../pipeline/io/artifacts.js";
import type { ResolvedConfig } from "../pipeline/config.js";
import { memoryLogger } from "../pipeline/io/log.js";
import { createContext, type StageContext } from "../pipeline/stage.js";
import { exportStage } from "../pipeline/stages/export.js";
import { translateStage } from "../pipeline/stages/translate.js";
import { ARTIFACT_FILES, type ArtifactName, readArtifact, writeArtifact } from "../pipeline/schemas/registry.js";

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function runDir() {
  const dir = await mkdtemp(join(tmpdir(), "whp-registry-"));
  dirs.push(dir);
  return { dir, ctx: { path: (name: ArtifactName) => join(dir, ARTIFACT_FILES[name]) } };
}

/** A stage's context over the folder (createContext: ctx.read / stream / write / writer), with a
 * tokenizer stub the stages never reach in these tests. */
const stageContext = (dir: string) => ({ ...createContext({ runDir: dir, seed: 1 } as unknown as ResolvedConfig, memoryLogger()), tokenizer: async () => ({}) }) as unknown as StageContext;

const block = (id: string) => ({ id, doc: "a.txt", index: 0, span: [0, 3] as [number, number], input_ids: [1, 2], starts: [0, 0], ends: [0, 3] });

describe("readArtifact", () => {
  it("names the file, the line and the field of a row of the wrong shape", async () => {
    const { dir, ctx } = await runDir();
    await writeFile(join(dir, "blocks.jsonl"), `${JSON.stringify(block("a#0"))}\n${JSON.stringify({ ...block("a#1"), input_ids: "1 2" })}\n`);
    await expect(readArtifact(ctx, "blocks")).rejects.toThrow('blocks.jsonl line 2: input_ids: expected array, got string "1 2"');
  });

  it("names a missing field and the line after a blank one", async () => {
    const { dir, ctx } = await runDir();
    const { span: _s, ...noSpan } = block("a#1");
    await writeFile(join(dir, "blocks.jsonl"), `${JSON.stringify(block("a#0"))}\n\n${JSON.stringify(noSpan)}\n`);
    await expect(readArtifact(ctx, "blocks")).rejects.toThrow("blocks.jsonl line 3: span: expected tuple, got nothing (missing)");
  });

  it("refuses a json artifact of another version as such, before its schema", async () => {
    const { dir, ctx } = await runDir();
    await writeFile(join(dir, "dictionary.json"), JSON.stringify({ version: 2, source: "a.csv", sha256: "x", entries: [] }));
    await expect(readArtifact(ctx, "dictionary")).rejects.toThrow("dictionary.json: expected version 1, got 2");
  });

  it("returns the rows of a valid file, typed by the registry", async () => {
    const { dir, ctx } = await runDir();
    await writeFile(join(dir, "blocks.jsonl"), toJsonlText([block("a#0"), block("a#1")]));
    const rows = await readArtifact(ctx, "blocks");
    expect(rows.map((b) => b.id)).toEqual(["a#0", "a#1"]);
  });

  it("knows only the registry's names (compile time)", async () => {
    const { ctx } = await runDir();
    // @ts-expect-error: "trainRows" is not a registered artifact
    await expect(readArtifact(ctx, "trainRows")).rejects.toThrow();
  });
});

describe("writeArtifact", () => {
  it("writes the rows as the stage built them, byte for byte", async () => {
    const { dir, ctx } = await runDir();
    const rows = [block("a#0"), block("a#1")];
    const written = await writeArtifact(ctx, "blocks", rows);
    expect(await readFile(join(dir, "blocks.jsonl"), "utf8")).toBe(toJsonlText(rows));
    // The labels stage records the hash of what it wrote from this text.
    expect(written).toBe(toJsonlText(rows));
  });

  it("refuses a row of the wrong shape, naming row and field, and writes nothing", async () => {
    const { dir, ctx } = await runDir();
    const bad = { ...block("a#1"), starts: [0, 0.5] };
    await expect(writeArtifact(ctx, "blocks", [block("a#0"), bad])).rejects.toThrow("writing blocks.jsonl row 2: starts.1: expected int, got number 0.5");
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses a json artifact with another version", async () => {
    const { dir, ctx } = await runDir();
    // @ts-expect-error: the schema types the version as the literal 1
    await expect(writeArtifact(ctx, "dictionary", { version: 2, source: "a.csv", sha256: "x", entries: [] })).rejects.toThrow("writing dictionary.json: expected version 1, got 2");
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("a stage reading through the registry", () => {
  it("translate, given a blocks.jsonl row of the wrong shape, names file, line and field and writes nothing", async () => {
    const { dir, ctx } = await runDir();
    await writeFile(join(dir, "dictionary.json"), JSON.stringify({ version: 1, source: "a.csv", sha256: "x", entries: [{ term: "Harry", translations: ["Jon"], category: "person" }] }));
    await writeFile(join(dir, "documents.jsonl"), toJsonlText([{ id: "a.txt", sha256: "x", text: "Harry", bom: false, crlf: 0 }]));
    await writeFile(join(dir, "blocks.jsonl"), toJsonlText([{ ...block("a.txt#0"), ends: null }, block("a.txt#1")]));
    // The stage streams its blocks (each is checked as it is read, and nothing is written before the
    // last): the bad row is the first, so the tokenizer stub is never asked to encode.
    const stageCtx = stageContext(dir);
    await expect(translateStage.run(stageCtx)).rejects.toThrow("blocks.jsonl line 1: ends: expected array, got null");
    expect((await readdir(dir)).sort()).toEqual(["blocks.jsonl", "dictionary.json", "documents.jsonl"]);
  });
});

describe("the export stage writing through the registry", () => {
  it("refuses a train.jsonl row missing a further alpha's labels (labels.jsonl has fewer columns than labels-meta.json's alphas) and writes nothing", async () => {
    const { dir, ctx } = await runDir();
    await writeFile(join(dir, "blocks.jsonl"), toJsonlText([block("a.txt#0")]));
    await writeFile(join(dir, "aligned.jsonl"), toJsonlText([{ id: "a.txt#0", translated_ids: [1, 2], map: [0, 1], forbidden: [], occurrences: [], unaligned: [] }]));
    await writeFile(join(dir, "labels.jsonl"), toJsonlText([{ id: "a.txt#0", labels: [[-100, 2]], uncertified: [0] }]));
    await writeFile(join(dir, "labels-meta.json"), JSON.stringify({ version: 1, alphas: [5, 10], topK: 20, logitSpace: "logprobs", models: {} }));
    const stageCtx = stageContext(dir);
    await expect(exportStage.run(stageCtx)).rejects.toThrow("writing train.jsonl row 1: labels_alpha_10: expected an array of integer labels, got nothing (missing)");
    expect((await readdir(dir)).sort()).toEqual(["aligned.jsonl", "blocks.jsonl", "labels-meta.json", "labels.jsonl"]);
  });
});
