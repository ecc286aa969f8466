/** `whp verify`: passes on the demo output and catches each kind of damage, naming file, row and field. */
import { cp, mkdtemp, readFile, rm, writeFile, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { capture } from "./helpers/capture.js";
import { main } from "../pipeline/cli.js";
import { sha256 } from "../pipeline/core/hash.js";
import { describeProblem, verifyDataset } from "../pipeline/export/verify.js";

const ROOT = resolve(import.meta.dirname, "..");


let demo: string;

beforeAll(async () => {
  // The shipped demo, every layout, into a temp folder (the demo's own out/ is left alone).
  const outDir = await mkdtemp(join(tmpdir(), "whp-verify-"));
  const r = await capture(() =>
    main(["node", "whp", "run", "--config", join(ROOT, "demo", "whp.config.yaml"), "--set", `run.outDir=${outDir}`, "--set", 'export.formats=["hf","torchtune","torchtune-shifted","text"]', "--quiet"]),
  );
  expect(r.code, r.err).toBe(0);
  demo = join(outDir, "dataset");
});

/** A copy of the demo dataset to damage. */
async function copy(): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), "whp-damaged-")), "dataset");
  await cp(demo, dir, { recursive: true });
  return dir;
}

/** Rewrites one row of a JSONL file and updates the manifest's size and hash, so that only the
 * row-level checks can catch the change. */
async function editRow(dir: string, file: string, row: number, edit: (r: Record<string, number[]>) => void): Promise<void> {
  const lines = (await readFile(join(dir, file), "utf8")).split("\n");
  const r = JSON.parse(lines[row - 1]);
  edit(r);
  lines[row - 1] = JSON.stringify(r);
  const bytes = Buffer.from(lines.join("\n"));
  await writeFile(join(dir, file), bytes);
  const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
  const entry = manifest.files.find((f: { path: string }) => f.path === file);
  entry.bytes = bytes.length;
  entry.sha256 = sha256(bytes);
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
}

async function problems(dir: string): Promise<string[]> {
  return (await verifyDataset(dir)).problems.map(describeProblem);
}

describe("whp verify", () => {
  it("passes on the demo output (exit 0) and checks every row", async () => {
    const r = await capture(() => main(["node", "whp", "verify", demo]));
    expect(r.code, r.err).toBe(0);
    const report = await verifyDataset(demo);
    const manifest = JSON.parse(await readFile(join(demo, "manifest.json"), "utf8"));
    expect(report.rows).toBe(manifest.files.reduce((s: number, f: { rows?: number }) => s + (f.rows ?? 0), 0));
    expect(report.rows).toBeGreaterThan(400);
    expect(r.out).toMatch(/ok \(\d+ files, \d+ rows verified\)/);
    // The demo's labels come from the embedded n-grams: verify says so even on a sound folder.
    expect(r.out).toMatch(/dataset: note: demonstration data only: the labels were made by whp's embedded sandbox model\(s\) \(baseline: ngram, reinforced: ngram\)/);
  });

  it("reads a version-1 folder's torchtune/ as the pre-shifted labels it holds, and notes that released torchtune needs a re-export", async () => {
    // What whp wrote before manifest version 2: pre-shifted labels under torchtune/.
    const dir = await copy();
    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    manifest.version = 1;
    manifest.files = manifest.files.filter((f: { config?: string }) => f.config !== "torchtune");
    for (const f of manifest.files) {
      if (f.config !== "torchtune-shifted") continue;
      const old = f.path;
      f.config = "torchtune";
      f.path = old.replace("torchtune-shifted/", "torchtune/");
      await writeFile(join(dir, f.path), await readFile(join(dir, old)));
      await rm(join(dir, old));
    }
    await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
    const report = await verifyDataset(dir);
    expect(report.problems.map(describeProblem)).toEqual([]);
    expect(report.notes).toContainEqual(expect.stringMatching(/^torchtune\/ was written by an older whp with pre-shifted labels: released torchtune \(<= 0\.6\.1\) shifts again/));
  });

  it("catches a flipped byte (exit 2, names the file)", async () => {
    const dir = await copy();
    const path = join(dir, "hf", "train.jsonl");
    const bytes = await readFile(path);
    const at = bytes.indexOf(Buffer.from("[1,")) + 1; // the BOS id of the first row
    bytes[at] = "2".charCodeAt(0);
    await writeFile(path, bytes);
    const r = await capture(() => main(["node", "whp", "verify", dir]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/hf\/train\.jsonl: sha256 mismatch/);
    expect(r.err).toMatch(/hf\/train\.jsonl: row 1, field "input_ids": expected the tokenizer's leading special ids \[1\], got \[2\]/);
  });

  it("catches a truncated file", async () => {
    const dir = await copy();
    const path = join(dir, "torchtune", "train.jsonl");
    const size = (await readFile(path)).length;
    await truncate(path, Math.floor(size / 2));
    const found = await problems(dir);
    expect(found).toContainEqual(expect.stringMatching(/^torchtune\/train\.jsonl: expected \d+ bytes, got \d+ \(truncated or changed\)$/));
    expect(found).toContainEqual(expect.stringMatching(/^torchtune\/train\.jsonl: row \d+: .*(not valid JSON|no newline)/));
    expect(found).toContainEqual(expect.stringMatching(/^torchtune\/train\.jsonl: expected \d+ rows, got \d+$/));
  });

  it("catches a row with mismatched lengths, even with the manifest's hash updated", async () => {
    const dir = await copy();
    await editRow(dir, "hf/train.jsonl", 3, (r) => r["labels_alpha_10"].pop());
    const found = await problems(dir);
    expect(found).toContainEqual(expect.stringMatching(/^hf\/train\.jsonl: row 3, field "labels_alpha_10": expected \d+ labels \(the length of input_ids\), got \d+$/));
    expect(found.some((p) => p.includes("sha256"))).toBe(false);
  });

  it("catches an id outside the vocabulary, in tokens and in labels", async () => {
    const dir = await copy();
    await editRow(dir, "hf/validation.jsonl", 2, (r) => (r.input_ids[5] = 32000));
    await editRow(dir, "torchtune/train.jsonl", 4, (r) => (r.labels[7] = 40000));
    const r = await capture(() => main(["node", "whp", "verify", dir]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/hf\/validation\.jsonl: row 2, field "input_ids": id 32000 at position 5 is outside the vocabulary \(0\.\.31999\)/);
    expect(r.err).toMatch(/torchtune\/train\.jsonl: row 4, field "labels": label 40000 at position 7 is neither -100 nor inside the vocabulary/);
  });

  it("catches -100 where the layout forbids it, rows that train nothing, extra files and a changed -100 count", async () => {
    const dir = await copy();
    await editRow(dir, "hf/train.jsonl", 1, (r) => (r.labels[0] = 5));
    await editRow(dir, "torchtune-shifted/validation.jsonl", 1, (r) => (r.labels[r.labels.length - 1] = 5));
    await editRow(dir, "torchtune/validation.jsonl", 1, (r) => (r.labels = [...r.labels.slice(1), -100])); // pre-shifted in the release layout
    await editRow(dir, "hf/train.jsonl", 2, (r) => (r.labels = r.labels.map(() => -100)));
    await editRow(dir, "reinforcement/train.jsonl", 1, (r) => (r.labels[3] = -100));
    await writeFile(join(dir, "hf", "extra.jsonl"), "{}\n");
    const found = await problems(dir);
    expect(found).toContainEqual('hf/train.jsonl: row 1, field "labels": expected -100 at position 0 (no prediction targets the first token), got 5');
    expect(found).toContainEqual(expect.stringMatching(/^torchtune-shifted\/validation\.jsonl: row 1, field "labels": expected -100 at the last position/));
    expect(found).toContainEqual(expect.stringMatching(/^torchtune\/validation\.jsonl: row 1, field "labels": expected -100 at position 0 \(no prediction targets the first token\), got \d+$/));
    expect(found).toContainEqual('hf/train.jsonl: row 2, field "labels": no trained label (all -100): the row teaches nothing');
    expect(found).toContainEqual('reinforcement/train.jsonl: row 1, field "labels": expected labels equal to input_ids (plain language modelling)');
    expect(found).toContainEqual("hf/extra.jsonl: not listed in manifest.json");
    expect(found).toContainEqual(expect.stringMatching(/^hf\/train\.jsonl: expected \d+ labels of -100 in all, got \d+$/));
  });

  it("a missing or malformed manifest is a user error", async () => {
    const dir = await copy();
    await writeFile(join(dir, "manifest.json"), '{"format": "whp-dataset"}');
    expect((await problems(dir))[0]).toMatch(/^manifest\.json: /);
    const r = await capture(() => main(["node", "whp", "verify", join(dir, "nowhere")]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/manifest\.json: not found/);
  });
});
