/**
 * The labels stage's "only the review changed" path, which streams the previous labels.jsonl, undoes
 * the recorded overrides row by row and applies the new review on the way: a second review on top of
 * a first gives the bytes of a run that had only the second from the start, without asking the models;
 * a labels.jsonl that no longer holds the recorded overrides is recomputed (and still right).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeFixture, type Fixture } from "./helpers/fixture.js";
import { cli } from "./helpers/labels-review.js";

const run = (fx: Fixture, ...args: string[]) => cli(...args, "--config", fx.configPath);
const read = (fx: Fixture, f: string) => readFile(join(fx.runDir, f), "utf8");
const review = (fx: Fixture, verdicts: object[]) => writeFile(join(fx.runDir, "labels-review.json"), JSON.stringify({ version: 1, verdicts }));

/** Two labelled positions of two blocks (the main alpha's label is not -100), and tokens to set there. */
async function targets(fx: Fixture) {
  const rows = (await read(fx, "labels.jsonl")).trim().split("\n").map((l) => JSON.parse(l) as { id: string; labels: number[][] });
  const pick = (r: { id: string; labels: number[][] }) => {
    const t = r.labels[0].findIndex((l, i) => i > 0 && l >= 0);
    return { block: r.id, position: t, label: r.labels[0][t] };
  };
  return [pick(rows[1]), pick(rows[rows.length - 1])];
}

describe("labels: re-applying a changed review streams the previous combination", () => {
  it("review B on top of review A equals a run with only B; an edited labels.jsonl is recomputed", async () => {
    const [fx, fresh] = await Promise.all([makeFixture(), makeFixture()]);
    expect((await run(fx, "run", "--quiet")).code).toBe(0);
    expect((await run(fresh, "run", "--quiet")).code).toBe(0);
    const [a, b] = await targets(fx);
    // A: replace at a (later verdicts listed first: the stage must not rely on the file's order), mask at b.
    const A = [
      { block: b.block, position: b.position, verdict: "mask" },
      { block: a.block, position: a.position, verdict: "replace", token: (a.label + 1) % 100 },
    ];
    const B = [{ block: a.block, position: a.position, verdict: "replace", token: (a.label + 2) % 100 }];
    await review(fx, A);
    const first = await run(fx, "labels");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/re-applying the review without asking the models/);
    expect(first.stderr).not.toMatch(/recomputing/);
    const uncertainty = await read(fx, "labels-uncertainty.jsonl");
    await review(fx, B);
    const second = await run(fx, "labels");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/re-applying the review without asking the models/);
    expect(second.stderr).not.toMatch(/recomputing/);

    await review(fresh, B);
    expect((await run(fresh, "labels", "--force", "--quiet")).code).toBe(0);
    for (const f of ["labels.jsonl", "labels-uncertainty.jsonl", "labels-meta.json"]) expect(await read(fx, f), f).toBe(await read(fresh, f));
    expect(await read(fx, "labels-uncertainty.jsonl")).toBe(uncertainty);

    // labels.jsonl edited at the overridden position (and labels-meta.json's hash brought along, so
    // only the overrides can tell): the previous combination is not trusted.
    const meta = JSON.parse(await read(fx, "labels-meta.json"));
    const edited = (await read(fx, "labels.jsonl")).split("\n").map((l) => {
      if (!l) return l;
      const r = JSON.parse(l) as { id: string; labels: number[][] };
      if (r.id === a.block) r.labels.forEach((col) => (col[a.position] = (a.label + 3) % 100));
      return JSON.stringify(r);
    });
    await writeFile(join(fx.runDir, "labels.jsonl"), edited.join("\n"));
    const { sha256 } = await import("../pipeline/core/hash.js");
    meta.outputs.labels = sha256(edited.join("\n"));
    await writeFile(join(fx.runDir, "labels-meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
    await review(fx, A);
    await review(fresh, A);
    const third = await run(fx, "labels");
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/does not hold the overrides labels-meta.json records; recomputing/);
    expect((await run(fresh, "labels", "--force", "--quiet")).code).toBe(0);
    for (const f of ["labels.jsonl", "labels-uncertainty.jsonl", "labels-meta.json"]) expect(await read(fx, f), f).toBe(await read(fresh, f));
  }, 120_000);
});
