/** The uncertain-label queue on the shipped demo (issue #8's "done means"): the queue is non-empty, a
 * verdict applied to one position changes exactly that label in train.jsonl, re-running the queue
 * keeps the verdict. The whole demo pipeline runs once (~5-10 s). */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, LABEL_COLUMNS, readCsv, reviewOnce } from "./helpers/labels-review.js";

const ROOT = resolve(import.meta.dirname, "..");

describe("the uncertain-label queue on the demo", () => {
  it("is non-empty; a replace verdict changes exactly that label in train.jsonl; re-running the queue keeps the verdict", async () => {
    const runDir = join(await mkdtemp(join(tmpdir(), "whp-demo-review-")), "run");
    const args = ["--config", join(ROOT, "demo", "whp.config.yaml"), "--set", `run.outDir=${runDir}`];
    expect((await cli("run", ...args, "--quiet")).code).toBe(0);
    const { file, rows, target, replacement, diff } = await reviewOnce(args, runDir);
    expect(rows.length).toBeGreaterThan(100);
    expect(replacement).not.toBe(target.label);
    // One position, in every alpha column, and nothing else.
    expect(diff.map((d) => d.split(":").slice(0, -2).join(":"))).toEqual(LABEL_COLUMNS.map(() => `${target.block}:${target.position}`));
    expect(diff.map((d) => d.split(":").at(-2))).toEqual(LABEL_COLUMNS);
    expect((await cli("review-queue", "labels", ...args, "--quiet")).code).toBe(0);
    const again = await readCsv(file);
    expect(again.find((r) => r.id === target.id)).toMatchObject({ verdict: "replace", replacement });
    expect(again.map((r) => r.id)).toEqual(rows.map((r) => r.id));
  }, 120_000);
});
