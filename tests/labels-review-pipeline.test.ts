/** The uncertain-label queue end to end on a small run: queue, verdicts, --apply-review, export
 * (the shipped demo: labels-review-demo.test.ts). */
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256 } from "../pipeline/core/hash.js";
import { makeFixture } from "./helpers/fixture.js";
import { cli, jsonl, LABEL_COLUMNS, labelDiff, readCsv, reviewOnce, writeCsv } from "./helpers/labels-review.js";

describe("whp review-queue labels + whp labels --apply-review", () => {
  it("on a small run: a replace verdict changes exactly that label, the manifest records it, re-running keeps the verdict", async () => {
    const fx = await makeFixture();
    expect((await cli("run", "--config", fx.configPath, "--quiet")).code).toBe(0);
    const { file, rows, target, diff } = await reviewOnce(["--config", fx.configPath], fx.runDir);
    const unc = await jsonl(join(fx.runDir, "labels-uncertainty.jsonl"));
    const blockRow = unc.find((r) => r.id === target.block)!;
    const k = (blockRow.positions as number[]).indexOf(Number(target.position));
    const newId = (blockRow.runnerUps as number[][])[k][0];
    expect(diff).toEqual(LABEL_COLUMNS.map((c) => `${target.block}:${target.position}:${c}:${newId}`));

    const manifest = JSON.parse(await readFile(join(fx.runDir, "manifest.json"), "utf8"));
    expect(manifest.labelReview).toEqual({ file: "labels-review.json", sha256: sha256(await readFile(join(fx.runDir, "labels-review.json"))), verdicts: { accept: 1, replace: 1, mask: 0 }, skipped: 0 });
    const dataset = JSON.parse(await readFile(join(fx.runDir, "dataset", "manifest.json"), "utf8"));
    expect(dataset.counts.reviewedLabels.verdicts).toEqual({ accept: 1, replace: 1, mask: 0 });

    // Re-running the queue keeps every verdict (and the queue itself is unchanged: labels are reviewed,
    // the combination is not).
    expect((await cli("review-queue", "labels", "--config", fx.configPath, "--quiet")).code).toBe(0);
    const again = await readCsv(file);
    expect(again.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    expect(again.filter((r) => r.verdict).map((r) => [r.id, r.verdict, r.replacement])).toEqual(rows.filter((r) => r.verdict).map((r) => [r.id, r.verdict, r.replacement]));
    // A narrower queue keeps the reviewed rows that fell out of it, flagged.
    expect((await cli("review-queue", "labels", "--config", fx.configPath, "--max-margin", "-1000")).code).toBe(0);
    const narrow = await readCsv(file);
    expect(narrow.map((r) => [r.id, r.status, r.verdict])).toEqual(rows.filter((r) => r.verdict).map((r) => [r.id, "kept: no longer in the queue", r.verdict]));

    // --force with nothing changed recomputes the combination (and gives the same labels).
    const labelsBefore = await readFile(join(fx.runDir, "labels.jsonl"), "utf8");
    const forced = await cli("labels", "--config", fx.configPath, "--force");
    expect(forced.code).toBe(0);
    expect(forced.stderr).not.toMatch(/re-applying/);
    expect(await readFile(join(fx.runDir, "labels.jsonl"), "utf8")).toBe(labelsBefore);

    // The re-applied review gives the same bytes as a run that had the review from the start.
    const fresh = await makeFixture();
    await mkdir(fresh.runDir, { recursive: true });
    await copyFile(join(fx.runDir, "labels-review.json"), join(fresh.runDir, "labels-review.json"));
    expect((await cli("run", "--config", fresh.configPath, "--quiet")).code).toBe(0);
    for (const f of ["labels.jsonl", "labels-meta.json", "labels-uncertainty.jsonl", "train.jsonl"]) {
      expect(await readFile(join(fresh.runDir, f), "utf8"), f).toBe(await readFile(join(fx.runDir, f), "utf8"));
    }

    // Clearing the verdicts restores the combination's labels exactly.
    await writeCsv(file, (await readCsv(join(fx.runDir, "review", "labels-queue.csv"))).map((r) => ({ ...r, verdict: "", replacement: "" })));
    expect((await cli("labels", "--config", fx.configPath, "--apply-review", file, "--quiet")).code).toBe(0);
    expect((await cli("export", "--config", fx.configPath, "--quiet")).code).toBe(0);
    expect(await labelDiff(join(fx.runDir, "train.before.jsonl"), join(fx.runDir, "train.jsonl"))).toEqual([]);
  }, 60_000);

  it("refuses a replacement that is not one token and an unknown verdict, naming the line (and column), changing nothing", async () => {
    const fx = await makeFixture({}, { forgetChars: 2500, generalChars: 10000 });
    expect((await cli("run", "--config", fx.configPath, "--quiet")).code).toBe(0);
    expect((await cli("review-queue", "labels", "--config", fx.configPath, "--threshold-quantile", "0.05", "--quiet")).code).toBe(0);
    const file = join(fx.runDir, "review", "labels-queue.csv");
    const rows = await readCsv(file);
    rows[0].verdict = "replace";
    rows[0].replacement = "the quick brown fox";
    await writeCsv(file, rows);
    const bad = await cli("labels", "--config", fx.configPath, "--apply-review", file);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/line 2: replacement "the quick brown fox" is 5 tokens with the run's tokenizer/);
    await expect(readFile(join(fx.runDir, "labels-review.json"))).rejects.toThrow();

    rows[0].verdict = "maybe";
    await writeCsv(file, rows);
    for (const args of [["labels", "--apply-review", file], ["review-queue", "labels"]]) {
      const r = await cli(...args, "--config", fx.configPath);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/labels-queue\.csv, line 2, column 12 \(verdict\): unknown verdict "maybe"/);
      expect(r.stderr).toMatch(/accept, replace, mask/);
    }
    const q = await cli("review-queue", "labels", "--config", fx.configPath, "--threshold-quantile", "2");
    expect(q.code).toBe(2);
    expect(q.stderr).toMatch(/--threshold-quantile expects a share/);
  }, 60_000);
});
