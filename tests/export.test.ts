/** The dataset folder as trainers read it: hf rows against the schema, torchtune's shift, the text
 * layout, the reinforcement dataset, the seeded split, gzip, and the card's YAML against the files. */
import { createReadStream } from "node:fs";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { main } from "../pipeline/cli.js";
import { sizeCategory } from "../pipeline/export/card.js";
import { exportConfigSchema } from "../pipeline/export/config.js";
import { shiftForTorchtune } from "../pipeline/export/formats.js";
import { validationIndices } from "../pipeline/export/split.js";
import { verifyDataset } from "../pipeline/export/verify.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

/** Reads a JSONL file one line at a time, the way `datasets`' json loader or a streaming trainer does. */
async function readRows(path: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) rows.push(JSON.parse(line));
  return rows;
}

const run = (fx: Fixture, ...args: string[]) => main(["node", "whp", ...args, "--config", fx.configPath, "--quiet"]);

let fx: Fixture;
let ds: string;
let manifest: { tokenizer: { vocabSize: number; prefixSpecialIds: number[] }; alphas: { columns: string[] }; split: { train: number; validation: number }; files: { path: string; rows?: number }[] };

beforeAll(async () => {
  fx = await makeFixture({ export: { formats: ["hf", "torchtune", "torchtune-shifted", "text"] } });
  expect(await run(fx, "run")).toBe(0);
  ds = join(fx.runDir, "dataset");
  manifest = JSON.parse(await readFile(join(ds, "manifest.json"), "utf8"));
});

describe("the hf layout", () => {
  it("every row of both splits matches the schema a causal-LM trainer expects", async () => {
    const V = manifest.tokenizer.vocabSize;
    const id = z.number().int().min(0).max(V - 1);
    const label = z.union([z.literal(-100), id]);
    const columns = manifest.alphas.columns;
    expect(columns).toEqual(["labels", "labels_alpha_2.5", "labels_alpha_10"]);
    const rowSchema = z
      .object({
        input_ids: z.array(id).min(2),
        attention_mask: z.array(z.literal(1)),
        ...Object.fromEntries(columns.map((c) => [c, z.array(label)])),
      })
      .strict()
      .refine((r) => columns.every((c) => (r as Record<string, number[]>)[c].length === r.input_ids.length) && r.attention_mask.length === r.input_ids.length, "lengths differ")
      .refine((r) => r.input_ids[0] === manifest.tokenizer.prefixSpecialIds[0], "BOS first")
      .refine((r) => columns.every((c) => (r as Record<string, number[]>)[c][0] === -100), "labels[0] is -100")
      .refine((r) => (r as Record<string, number[]>).labels.some((l) => l >= 0), "at least one trained label");
    let total = 0;
    for (const split of ["train", "validation"]) {
      const rows = await readRows(join(ds, "hf", `${split}.jsonl`));
      for (const [i, row] of rows.entries()) {
        const parsed = rowSchema.safeParse(row);
        expect(parsed.success, `${split} row ${i + 1}: ${parsed.error?.message}`).toBe(true);
      }
      total += rows.length;
    }
    const train = await readRows(join(fx.runDir, "train.jsonl"));
    expect(total).toBe(train.length);
    expect(manifest.split.train + manifest.split.validation).toBe(train.length);
    expect(manifest.split.validation).toBe(Math.max(1, Math.round(train.length * 0.05)));
  });

  it("holds the same labels as the run's train.jsonl, split by block with the seed", async () => {
    const train = await readRows(join(fx.runDir, "train.jsonl"));
    const hold = new Set(validationIndices(train.length, 0.05, 99));
    const [hfTrain, hfVal] = [await readRows(join(ds, "hf", "train.jsonl")), await readRows(join(ds, "hf", "validation.jsonl"))];
    expect(hfVal.map((r) => r.input_ids)).toEqual(train.filter((_, i) => hold.has(i)).map((r) => r.input_ids));
    expect(hfTrain.map((r) => r.labels)).toEqual(train.filter((_, i) => !hold.has(i)).map((r) => r.labels));
  });
});

describe("the torchtune layouts", () => {
  it("torchtune (released) has tokens = input_ids and the hf labels unshifted", async () => {
    for (const split of ["train", "validation"]) {
      const hf = await readRows(join(ds, "hf", `${split}.jsonl`));
      const tt = await readRows(join(ds, "torchtune", `${split}.jsonl`));
      expect(tt.length).toBe(hf.length);
      tt.forEach((row, i) => {
        expect(Object.keys(row).sort()).toEqual(["labels", "tokens"]);
        expect(row.tokens).toEqual(hf[i].input_ids);
        expect(row.labels).toEqual(hf[i].labels);
        expect((row.labels as number[])[0]).toBe(-100);
      });
    }
  });

  it("torchtune-shifted has tokens = input_ids and labels equal to the hf labels shifted by one", async () => {
    for (const split of ["train", "validation"]) {
      const hf = await readRows(join(ds, "hf", `${split}.jsonl`));
      const tt = await readRows(join(ds, "torchtune-shifted", `${split}.jsonl`));
      expect(tt.length).toBe(hf.length);
      tt.forEach((row, i) => {
        const hfLabels = hf[i].labels as number[];
        expect(Object.keys(row).sort()).toEqual(["labels", "tokens"]);
        expect(row.tokens).toEqual(hf[i].input_ids);
        expect(row.labels).toEqual([...hfLabels.slice(1), -100]);
      });
    }
  });

  it("shiftForTorchtune moves every label one position left and ends with -100", () => {
    expect(shiftForTorchtune([-100, 5, -100, 7])).toEqual([5, -100, 7, -100]);
  });
});

describe("the text layout and the reinforcement dataset", () => {
  it("text rows hold the decoded original, translated and generic text for each block", async () => {
    const rows = await readRows(join(ds, "text", "train.jsonl"));
    const hf = await readRows(join(ds, "hf", "train.jsonl"));
    expect(rows.length).toBe(hf.length);
    for (const r of rows) {
      expect(Object.keys(r).sort()).toEqual(["generic", "id", "original", "source", "translated"]);
      expect((r.original as string).length).toBeGreaterThan(10);
      expect((r.generic as string).length).toBeGreaterThan(0);
    }
    // Anchors are replaced in the translated text: some block names a forget-corpus term the other doesn't.
    expect(rows.some((r) => r.original !== r.translated)).toBe(true);
  });

  it("the reinforcement dataset is every block with labels = input_ids", async () => {
    const rows = await readRows(join(ds, "reinforcement", "train.jsonl"));
    const blocks = await readRows(join(fx.runDir, "blocks.jsonl"));
    expect(rows.map((r) => r.input_ids)).toEqual(blocks.map((b) => b.input_ids));
    for (const r of rows) {
      expect(r.labels).toEqual(r.input_ids);
      expect(r.attention_mask).toEqual((r.input_ids as number[]).map(() => 1));
    }
  });
});

describe("the dataset card", () => {
  it("has YAML that parses, whose configs name the files and whose features match the rows", async () => {
    const card = await readFile(join(ds, "README.md"), "utf8");
    const m = card.match(/^---\n([\s\S]*?)\n---\n/);
    expect(m).not.toBeNull();
    const front = parseYaml(m![1]) as {
      license: string;
      size_categories: string[];
      configs: { config_name: string; data_files: { split: string; path: string }[] }[];
      dataset_info: { config_name: string; features: { name: string; sequence?: string; dtype?: string }[]; splits: { name: string; num_examples: number }[] }[];
    };
    expect(front.license).toBe("other");
    expect(front.configs.map((c) => c.config_name)).toEqual(["default", "torchtune", "torchtune-shifted", "text", "reinforcement"]);
    const listed = new Map(manifest.files.map((f) => [f.path, f]));
    for (const cfg of front.configs) {
      const info = front.dataset_info.find((d) => d.config_name === cfg.config_name)!;
      for (const file of cfg.data_files) {
        const rows = await readRows(join(ds, file.path));
        expect(listed.get(file.path)?.rows).toBe(rows.length);
        expect(info.splits.find((s) => s.name === file.split)?.num_examples).toBe(rows.length);
        for (const row of rows) {
          expect(Object.keys(row).sort()).toEqual(info.features.map((f) => f.name).sort());
          for (const f of info.features) {
            const v = row[f.name];
            if (f.dtype === "string") expect(typeof v).toBe("string");
            else {
              expect(Array.isArray(v)).toBe(true);
              const [lo, hi] = f.sequence === "int8" ? [-128, 127] : f.sequence === "int32" ? [-(2 ** 31), 2 ** 31 - 1] : [-(2 ** 53), 2 ** 53];
              for (const x of v as number[]) expect(Number.isInteger(x) && x >= lo && x <= hi).toBe(true);
            }
          }
        }
      }
    }
    expect(front.size_categories).toEqual(["n<1K"]);
    expect(card).toMatch(/sha256 [0-9a-f]{64}/); // tokenizer and dictionary hashes
    expect(card).toMatch(/masked \(-100/);
  });

  it("sizeCategory follows the Hub's buckets", () => {
    expect([sizeCategory(999), sizeCategory(1000), sizeCategory(123_456)]).toEqual(["n<1K", "1K<n<10K", "100K<n<1M"]);
  });
});

describe("options", () => {
  it("gzip writes *.jsonl.gz with the same rows, --format picks the layouts, and the result verifies", async () => {
    const gz = await makeFixture({ export: { gzip: true, validationFraction: 0.2, alphaColumns: false } });
    expect(await run(gz, "run")).toBe(0);
    const dir = join(gz.runDir, "dataset");
    const m = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    expect(m.files.map((f: { path: string }) => f.path).sort()).toEqual(["README.md", "hf/train.jsonl.gz", "hf/validation.jsonl.gz", "reinforcement/train.jsonl.gz"]);
    const rows = gunzipSync(await readFile(join(dir, "hf", "train.jsonl.gz"))).toString("utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(Object.keys(rows[0]).sort()).toEqual(["attention_mask", "input_ids", "labels"]); // alphaColumns: false
    expect(m.split.validation).toBe(Math.round((m.split.train + m.split.validation) * 0.2));
    expect((await verifyDataset(dir)).problems).toEqual([]);

    expect(await run(gz, "export", "--format", "torchtune,text")).toBe(0);
    const m2 = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    expect(m2.files.map((f: { path: string }) => f.path.split("/")[0]).filter((p: string) => p !== "README.md")).toEqual(["torchtune", "torchtune", "text", "text", "reinforcement"]);
    expect((await verifyDataset(dir)).problems).toEqual([]);
    expect(await run(gz, "export", "--format", "parquet")).toBe(2);
  });

  it("the template's export: section spells out exactly the defaults", async () => {
    const template = parseYaml(await readFile(join(import.meta.dirname, "..", "templates", "whp.config.yaml"), "utf8"));
    expect(Object.keys(template.export).sort()).toEqual(Object.keys(exportConfigSchema.parse(undefined)).sort());
    expect(exportConfigSchema.parse(template.export)).toEqual(exportConfigSchema.parse(undefined));
  });

  it("the validation split is seeded, by block, never empty or everything", () => {
    expect(validationIndices(100, 0.05, 1)).toEqual(validationIndices(100, 0.05, 1));
    expect(validationIndices(100, 0.05, 1)).not.toEqual(validationIndices(100, 0.05, 2));
    expect(validationIndices(100, 0.05, 1)).toHaveLength(5);
    expect(validationIndices(3, 0.01, 1)).toHaveLength(1);
    expect(validationIndices(2, 0.5, 1)).toHaveLength(1);
    expect(validationIndices(1, 0.5, 1)).toEqual([]);
    expect(validationIndices(50, 0, 1)).toEqual([]);
  });
});

describe("the stage runner tracks the dataset folder", () => {
  // Runs last: it deletes and edits fx's dataset folder (and checks that a normal run restores it).
  const snapshot = async () => ({ ino: (await stat(ds)).ino, manifest: await readFile(join(ds, "manifest.json"), "utf8") });

  it("a deleted or hand-edited dataset/ is rebuilt by a normal run; an untouched one is skipped", async () => {
    const before = await snapshot();
    expect(await run(fx, "export")).toBe(0);
    expect(await snapshot()).toEqual(before); // untouched: skipped, the folder is not even swapped

    await rm(ds, { recursive: true });
    expect(await run(fx, "export")).toBe(0);
    const rebuilt = await snapshot();
    expect(rebuilt.manifest).toBe(before.manifest); // same bytes as before
    expect((await verifyDataset(ds)).problems).toEqual([]);

    await writeFile(join(ds, "manifest.json"), rebuilt.manifest.replace('"version"', '"version" '));
    expect(await run(fx, "run")).toBe(0);
    const restored = await snapshot();
    expect(restored.ino).not.toBe(rebuilt.ino); // swapped in anew
    expect(restored.manifest).toBe(before.manifest);
  });
});
