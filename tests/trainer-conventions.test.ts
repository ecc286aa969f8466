/**
 * Which token does each trainer version train each logit on, given the rows whp writes?
 * 1. A 6-token block worked by hand (the README's table): the row builders' output through each
 *    trainer's label arithmetic (tests/helpers/trainer-arithmetic.ts, written from the released sources).
 * 2. `whp verify` checks each layout's convention.
 * 3. Every README recipe, applied to rows a real run exported: padding with -100, the trainer's column
 *    handling and shift; every trained position's target must be whp's label and none may be lost.
 * 4. The README's torchtune builder, executed by python3 the way torchtune's `config.instantiate` calls it.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { FORMATS, type ExportBlock } from "../pipeline/export/formats.js";
import { RECIPE_LENGTHS } from "../pipeline/export/recipes.js";
import { checkRow, layoutOf } from "../pipeline/export/verify.js";
import { capture } from "./helpers/capture.js";
import { main } from "../pipeline/cli.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";
import {
  axolotlKeep,
  batches,
  compareTargets,
  hfModelTargets,
  intendedTargets,
  keepColumns,
  padRight,
  seq2SeqLabels,
  torchtuneMainTargets,
  torchtuneReleaseTargets,
  trlDefaultLabels,
  trlSignatureColumns,
  trlTruncate,
  type Row,
} from "./helpers/trainer-arithmetic.js";

const ROOT = resolve(import.meta.dirname, "..");

// The hand-worked block: BOS, then five tokens; position 2's label is masked (inside an anchor), position
// 3's generic label is the original token, the others are generic replacements.
const TOKENS = [1, 10, 11, 12, 13, 14];
const HF_LABELS = [-100, 20, -100, 12, 23, 14];
// Logit t has read tokens 0..t; whp wants it to predict the label of token t + 1 (none for the last).
const WANT = [20, -100, 12, 23, 14, -100];
const block: ExportBlock = { id: "d#0", source: "d", inputIds: TOKENS, labels: [HF_LABELS, [-100, 21, -100, 12, 24, 14]], columns: ["labels", "labels_alpha_4"] };

describe("a 6-token block worked by hand", () => {
  it("hf rows: transformers' causal-LM loss (TRL >= 0.19, axolotl, Trainer) trains each logit on whp's label", () => {
    const row = FORMATS.hf.row(block) as Row;
    expect(row).toEqual({ input_ids: TOKENS, attention_mask: [1, 1, 1, 1, 1, 1], labels: HF_LABELS, labels_alpha_4: [-100, 21, -100, 12, 24, 14] });
    expect(hfModelTargets(padRight([row.labels as number[]]))).toEqual([[20, -100, 12, 23, 14, -100]]);
    // TRL >= 0.19 with default settings: the column survives and the default collator uses it.
    const kept = keepColumns(row, trlSignatureColumns([0, 19]));
    expect(hfModelTargets(padRight(trlDefaultLabels([0, 19], [kept])))).toEqual([WANT]);
  });

  it("torchtune rows: torchtune 0.6.1's recipe shift trains each logit on whp's label", () => {
    const row = FORMATS.torchtune.row(block);
    expect(row).toEqual({ tokens: TOKENS, labels: [-100, 20, -100, 12, 23, 14] });
    expect(torchtuneReleaseTargets(padRight([row.labels as number[]]))).toEqual([[20, -100, 12, 23, 14, -100]]);
  });

  it("torchtune-shifted rows: torchtune main after b18312c7d (no recipe shift) trains each logit on whp's label", () => {
    const row = FORMATS["torchtune-shifted"].row(block);
    expect(row).toEqual({ tokens: TOKENS, labels: [20, -100, 12, 23, 14, -100] });
    expect(torchtuneMainTargets(padRight([row.labels as number[]]))).toEqual([[20, -100, 12, 23, 14, -100]]);
  });

  it("the mismatches are what the README says: each is off by one, or trains plain language modelling", () => {
    const shifted = FORMATS["torchtune-shifted"].row(block).labels as number[];
    const release = FORMATS.torchtune.row(block).labels as number[];
    // Pre-shifted rows in torchtune 0.6.1 (whp's old torchtune layout): every logit two tokens ahead.
    expect(torchtuneReleaseTargets([shifted])).toEqual([[-100, 12, 23, 14, -100, -100]]);
    // Release rows on main: every logit trained to repeat the token it just read.
    expect(torchtuneMainTargets([release])).toEqual([[-100, 20, -100, 12, 23, 14]]);
    // TRL's default collator up to 0.18.2 rebuilds labels from input_ids (0.17-0.18 drop the column first).
    const row = FORMATS.hf.row(block) as Row;
    for (const v of [[0, 14], [0, 16], [0, 17], [0, 18]] as [number, number][]) {
      const kept = keepColumns(row, trlSignatureColumns(v));
      expect("labels" in kept, `TRL ${v.join(".")}`).toBe(v[1] <= 16);
      expect(hfModelTargets(padRight(trlDefaultLabels(v, [kept]))), `TRL ${v.join(".")}`).toEqual([[10, 11, 12, 13, 14, -100]]);
    }
  });

  it("whp verify checks each layout's convention: -100 first when unshifted, last when pre-shifted", () => {
    const ctx = (name: "torchtune" | "torchtune-shifted", version = 2) => {
      const spec = layoutOf(name, version);
      return { spec, fields: ["tokens", "labels"], labelColumns: ["labels"], vocabSize: 100, bos: [1] };
    };
    const release = FORMATS.torchtune.row(block);
    const shifted = FORMATS["torchtune-shifted"].row(block);
    expect(checkRow(release, ctx("torchtune")).problems).toEqual([]);
    expect(checkRow(shifted, ctx("torchtune-shifted")).problems).toEqual([]);
    expect(checkRow(shifted, ctx("torchtune")).problems).toEqual([["labels", "expected -100 at position 0 (no prediction targets the first token), got 20"]]);
    expect(checkRow(release, ctx("torchtune-shifted")).problems).toEqual([["labels", "expected -100 at the last position (pre-shifted labels have no target there), got 14"]]);
    // A version-1 dataset manifest wrote pre-shifted labels under torchtune/: checked as what it holds.
    expect(checkRow(shifted, ctx("torchtune", 1)).problems).toEqual([]);
  });
});

/** Reads a JSONL file into rows. */
async function rows(path: string): Promise<Row[]> {
  return (await readFile(path, "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Row);
}

/** The README's fenced blocks of one language, in order. */
async function readmeBlocks(lang: string): Promise<string[]> {
  const text = await readFile(join(ROOT, "README.md"), "utf8");
  const start = text.indexOf("## Exporting for trainers");
  const end = text.indexOf("\n## ", start + 1);
  const section = text.slice(start, end);
  return [...section.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
}

let fx: Fixture;
let ds: string;
let summary: string;

beforeAll(async () => {
  fx = await makeFixture({ export: { formats: ["hf", "torchtune", "torchtune-shifted"], validationFraction: 0.2 } });
  const r = await capture(() => main(["node", "whp", "run", "--config", fx.configPath, "--quiet"]));
  expect(r.code, r.err).toBe(0);
  summary = r.out;
  ds = join(fx.runDir, "dataset");
});

/** Runs batches of 8 rows through `targets` and compares with whp's labels from the hf rows. */
function check(trainerRows: Row[], targets: (batch: Row[]) => number[][], intended: number[][], ids: string[]): string[] {
  const bad: string[] = [];
  let at = 0;
  for (const batch of batches(trainerRows, 8)) {
    bad.push(...compareTargets(targets(batch), intended.slice(at, at + batch.length), ids.slice(at, at + batch.length)));
    at += batch.length;
  }
  return bad;
}

describe("every README recipe, on exported rows", () => {
  const splits = ["train", "validation"];

  it("the exported rows exercise padding: a batch mixes full blocks and shorter last blocks", async () => {
    const hf = await rows(join(ds, "hf", "train.jsonl"));
    const lengths = hf.map((r) => (r.input_ids as number[]).length);
    expect(new Set(lengths).size).toBeGreaterThan(1);
    expect(batches(lengths, 8).some((b) => new Set(b).size > 1)).toBe(true);
  });

  it("TRL >= 0.19, plain SFTConfig: signature columns, truncation to max_length 1024, TRL's collator, the model's shift", async () => {
    for (const split of splits) {
      const hf = await rows(join(ds, "hf", `${split}.jsonl`));
      const ids = hf.map((_, i) => `hf/${split} row ${i + 1}`);
      for (const v of [[0, 19], [1, 6], [1, 7]] as [number, number][]) {
        const prepared = hf.map((r) => trlTruncate(keepColumns(r, trlSignatureColumns(v)), 1024));
        const bad = check(prepared, (b) => hfModelTargets(padRight(trlDefaultLabels(v, b))), hf.map((r) => intendedTargets(r.labels as number[])), ids);
        expect(bad.slice(0, 5), `TRL ${v.join(".")}`).toEqual([]);
      }
    }
  });

  it("TRL >= 0.19 with the README's alpha swap trains the variant's labels", async () => {
    const blocks = await readmeBlocks("python");
    const swap = 'select_columns(["input_ids","attention_mask","labels_alpha_2.5"]).rename_column("labels_alpha_2.5","labels")';
    expect(blocks[0]).toContain(swap);
    const hf = await rows(join(ds, "hf", "train.jsonl"));
    const swapped = hf.map((r) => ({ input_ids: r.input_ids, attention_mask: r.attention_mask, labels: r["labels_alpha_2.5"] }));
    const want = hf.map((r) => intendedTargets(r["labels_alpha_2.5"] as number[]));
    const ids = hf.map((_, i) => `row ${i + 1}`);
    const prepared = swapped.map((r) => trlTruncate(keepColumns(r, trlSignatureColumns([0, 19])), 1024));
    expect(check(prepared, (b) => hfModelTargets(padRight(trlDefaultLabels([0, 19], b))), want, ids)).toEqual([]);
    // The variant really differs from the main labels, so training the wrong column would show.
    expect(hf.some((r) => JSON.stringify(r["labels_alpha_2.5"]) !== JSON.stringify(r.labels))).toBe(true);
  });

  it("TRL 0.12+ recipe: kept columns, preparation skipped, DataCollatorForSeq2Seq(-100), in every release", async () => {
    const [, recipe] = await readmeBlocks("python");
    for (const line of ["remove_unused_columns=False", 'dataset_kwargs={"skip_prepare_dataset": True}', "DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)", 'select_columns(["input_ids", "attention_mask", "labels"])']) {
      expect(recipe).toContain(line);
    }
    expect(recipe).not.toContain("max_length"); // it would do nothing with preparation skipped
    for (const split of splits) {
      const hf = await rows(join(ds, "hf", `${split}.jsonl`));
      // select_columns, then nothing removes or truncates; the explicit collator replaces the default.
      const selected = hf.map((r) => keepColumns(r, ["input_ids", "attention_mask", "labels"]));
      const bad = check(selected, (b) => hfModelTargets(padRight(seq2SeqLabels(b))), hf.map((r) => intendedTargets(r.labels as number[])), hf.map((_, i) => `row ${i + 1}`));
      expect(bad.slice(0, 5)).toEqual([]);
    }
  });

  it("axolotl: exactly three columns, rows up to sequence_len kept (longer ones dropped), -100 padding, the model's shift", async () => {
    const [recipe] = (await readmeBlocks("yaml")).filter((b) => b.includes("sequence_len"));
    const cfg = parseYaml(recipe) as { sequence_len: number; sample_packing: boolean; datasets: { path: string; type?: string }[] };
    expect(cfg.sample_packing).toBe(false);
    expect(cfg.datasets[0].type).toBeUndefined();
    expect(RECIPE_LENGTHS.find((r) => r.recipe === "axolotl")?.tokens).toBe(cfg.sequence_len); // whp export warns against the README's own value

    // The recipe's export: alphaColumns false.
    const r = await capture(() => main(["node", "whp", "export", "--config", fx.configPath, "--set", "export.alphaColumns=false", "--quiet"]));
    expect(r.code, r.err).toBe(0);
    for (const split of splits) {
      const hf = await rows(join(ds, "hf", `${split}.jsonl`));
      for (const row of hf) expect(Object.keys(row).sort()).toEqual(["attention_mask", "input_ids", "labels"]);
      const kept = hf.filter((row) => axolotlKeep(row, cfg.sequence_len));
      expect(kept.length).toBe(hf.length); // blockSize (128 here) <= sequence_len: nothing dropped
      const bad = check(kept, (b) => hfModelTargets(padRight(seq2SeqLabels(b))), hf.map((row) => intendedTargets(row.labels as number[])), hf.map((_, i) => `row ${i + 1}`));
      expect(bad.slice(0, 5)).toEqual([]);
      // With sequence_len below the block size, full blocks vanish: what the export warning is for.
      expect(hf.filter((row) => axolotlKeep(row, 100)).length).toBeLessThan(hf.length);
    }
  });

  it("torchtune 0.6.1 on torchtune/ rows and torchtune main on torchtune-shifted/ rows train whp's labels", async () => {
    for (const split of splits) {
      const hf = await rows(join(ds, "hf", `${split}.jsonl`));
      const want = hf.map((r) => intendedTargets(r.labels as number[]));
      const ids = hf.map((_, i) => `row ${i + 1}`);
      const release = await rows(join(ds, "torchtune", `${split}.jsonl`));
      const shifted = await rows(join(ds, "torchtune-shifted", `${split}.jsonl`));
      // padded_collate_sft pads labels with ignore_idx (-100); then the recipe shifts (0.6.1) or not (main).
      expect(check(release, (b) => torchtuneReleaseTargets(padRight(b.map((r) => r.labels as number[]))), want, ids).slice(0, 5)).toEqual([]);
      expect(check(shifted, (b) => torchtuneMainTargets(padRight(b.map((r) => r.labels as number[]))), want, ids).slice(0, 5)).toEqual([]);
      // And crossed, each is wrong: the reason the two layouts exist.
      expect(check(shifted, (b) => torchtuneReleaseTargets(padRight(b.map((r) => r.labels as number[]))), want, ids).length).toBeGreaterThan(0);
    }
  });

  const hasPython = (() => {
    try {
      execFileSync("python3", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();

  it.runIf(hasPython)("the README's torchtune builder works as config.instantiate(cfg_dataset, tokenizer) calls it, packed key included", async () => {
    const python = (await readmeBlocks("python")).find((b) => b.includes("def whp_dataset"));
    const yamlBlock = (await readmeBlocks("yaml")).find((b) => b.includes("whp_torchtune.whp_dataset"));
    expect(python && yamlBlock).toBeTruthy();
    const dataset = (parseYaml(yamlBlock!) as { dataset: Record<string, unknown> }).dataset;
    expect(dataset.packed).toBe(false);
    const dir = await mkdtemp(join(tmpdir(), "whp-tt-"));
    await mkdir(join(dir, "torch", "utils"), { recursive: true });
    // A stand-in for torch.utils.data.Dataset (the builder only subclasses it), so no torch is needed.
    await writeFile(join(dir, "torch", "__init__.py"), "");
    await writeFile(join(dir, "torch", "utils", "__init__.py"), "");
    await writeFile(join(dir, "torch", "utils", "data.py"), "class Dataset:\n    pass\n");
    await writeFile(join(dir, "whp_torchtune.py"), python!);
    // torchtune 0.6.1 torchtune/config/_instantiate.py: _instantiate_node(node, *args) imports
    // node["_component_"], passes the positional args (the tokenizer) and every other key as kwargs.
    const driver = [
      "import importlib, json, sys",
      "node = json.loads(sys.argv[1])",
      "module, name = node['_component_'].rsplit('.', 1)",
      "component = getattr(importlib.import_module(module), name)",
      "kwargs = {k: v for k, v in node.items() if k != '_component_'}",
      "ds = component(object(), **kwargs)",
      "print(json.dumps([ds[i] for i in range(len(ds))]))",
      "try:",
      "    component(object(), **dict(kwargs, packed=True))",
      "    print('packed accepted')",
      "except ValueError as e:",
      "    print('packed refused')",
    ].join("\n");
    const node = { ...dataset, source: join(ds, "torchtune", "train.jsonl") };
    const { stdout } = await promisify(execFile)("python3", ["-c", driver, JSON.stringify(node)], { cwd: dir, env: { ...process.env, PYTHONPATH: dir } });
    const [items, packed] = stdout.trim().split("\n");
    expect(JSON.parse(items)).toEqual(await rows(join(ds, "torchtune", "train.jsonl")));
    expect(packed).toBe("packed refused");
    // The same builder reads the reinforcement rows (input_ids) as tokens.
    const re = await promisify(execFile)("python3", ["-c", driver, JSON.stringify({ ...node, source: join(ds, "reinforcement", "train.jsonl") })], { cwd: dir, env: { ...process.env, PYTHONPATH: dir } });
    const reRows = JSON.parse(re.stdout.trim().split("\n")[0]) as { tokens: number[]; labels: number[] }[];
    expect(reRows.map((r) => r.tokens)).toEqual((await rows(join(ds, "reinforcement", "train.jsonl"))).map((r) => r.input_ids));
  });
});

describe("the run summary", () => {
  it("of a run on the embedded models ends with the demonstration note, which the run manifest records", async () => {
    const manifest = JSON.parse(await readFile(join(fx.runDir, "manifest.json"), "utf8"));
    expect([manifest.demonstrationOnly, manifest.embeddedModels]).toEqual([true, [{ role: "baseline", provider: "ngram" }, { role: "reinforced", provider: "ngram" }]]);
    expect(summary).toMatch(/\n {2}note: demonstration data only: the labels were made by whp's embedded sandbox model\(s\) \(baseline: ngram, reinforced: ngram\)/);
  });
});
