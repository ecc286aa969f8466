/** `whp evalset` imports through the real CLI: imports need no finished run, a failed import writes
 * nothing, a repeat that changes nothing says "up to date" (issues #15 and #16). */
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { whpCli } from "./helpers/capture.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

const made: Fixture[] = [];
afterAll(async () => {
  await Promise.all(made.map((f) => rm(f.dir, { recursive: true, force: true })));
});
const fixture = async () => {
  const fx = await makeFixture();
  made.push(fx);
  return fx;
};
const cli = (fx: Fixture, ...args: string[]) => whpCli(fx.configPath, ...args);
const evalDir = (fx: Fixture) => join(fx.runDir, "eval");

describe("whp evalset imports", () => {
  it("imports completion and plain probability prompts before any run, then mines and scores them with the run", async () => {
    const fx = await fixture();
    const fam = join(fx.dir, "hp.json");
    await writeFile(fam, JSON.stringify([{ prompt: { prompt: "Once upon a time", references: ["Tamsin"] } }, { prompt: { prompt: "Tamsin met", references: ["Tamsin", "Orrin"] } }]));
    const prob = join(fx.dir, "prob.json");
    await writeFile(prob, JSON.stringify([{ prompt: "She walked along the quay with" }, { prompt: "The old man said", targets: ["hello"] }]));
    const first = await cli(fx, "evalset", "--familiarity", fam, "--probability", prob);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(first.out).toContain("imported 2 completion prompts (0 duplicates dropped; 2 without a subtlety grade: no per-subtlety breakdown; 1 contain 1 of their own references, which the leak check does not count)");
    expect(first.out).toMatch(/imported 2 of 2 probability prompts from prob\.json \(1 with their own targets/);
    expect(first.out).toContain("only the import was done");
    const imported = (await readFile(join(evalDir(fx), "probability-imported.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(imported.map((p) => p.id)).toEqual(["i0000", "i0001"]);
    expect(imported[0].tagged.length).toBeGreaterThan(1); // every dictionary term's first token after the prompt
    expect(imported[1].terms).toEqual(["hello"]);

    expect((await cli(fx, "run")).code).toBe(0);
    const mined = await cli(fx, "evalset", "--size", "5", "--positions", "5");
    expect(mined.code).toBe(0);
    expect(mined.out).toContain("evalset: wrote");
    const set = JSON.parse(await readFile(join(evalDir(fx), "evalset.json"), "utf8"));
    expect(Object.keys(set.imports)).toEqual(["probability-imported.jsonl"]);
    const minedCount = (await readFile(join(evalDir(fx), "probability.jsonl"), "utf8")).trim().split("\n").length;
    expect((await cli(fx, "eval", "--model", "baseline")).code).toBe(0);
    const scores = JSON.parse(await readFile(join(evalDir(fx), "scores-baseline.json"), "utf8"));
    expect(scores.scores.probabilityFamiliarity.n).toBe(minedCount + 2);

    // An imported file changed behind the set's back is refused, not silently scored.
    await writeFile(join(evalDir(fx), "probability-imported.jsonl"), "");
    const stale = await cli(fx, "eval", "--model", "baseline", "--force");
    expect(stale.code).toBe(2);
    expect(stale.err).toMatch(/probability-imported\.jsonl changed since the evaluation set was written/);
  }, 90_000);

  it("a failed import writes nothing (not the set either), and a repeat that changes nothing says up to date", async () => {
    const fx = await fixture();
    const fam = join(fx.dir, "hp.json");
    await writeFile(fam, JSON.stringify([{ prompt: { prompt: "Aunt", references: ["Wendeline"], subtlety: 2 } }]));
    expect((await cli(fx, "run")).code).toBe(0);
    const ok = await cli(fx, "evalset", "--size", "5", "--positions", "5", "--familiarity", fam);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("evalset: wrote");
    const files = ["evalset.json", "familiarity.jsonl", "probability.jsonl"].map((f) => join(evalDir(fx), f));
    const before = await Promise.all(files.map(async (f) => ({ mtime: (await stat(f)).mtimeMs, text: await readFile(f, "utf8") })));

    const again = await cli(fx, "evalset", "--size", "5", "--positions", "5", "--familiarity", fam);
    expect(again.code).toBe(0);
    expect(again.out).not.toContain("wrote");
    expect(again.out).toContain("evalset: up to date");
    expect(again.out).toContain("evalset: up to date: 1 completion prompts");

    await writeFile(fam, JSON.stringify([{ prompt: { prompt: "Aunt", references: ["Wendeline"], subtlety: 11 } }]));
    // --force would rewrite the set: it must not, when the import fails.
    const bad = await cli(fx, "evalset", "--size", "5", "--positions", "5", "--force", "--familiarity", fam);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe("");
    expect(bad.err).toMatch(/hp\.json is not in the published prompt format[\s\S]*0\.prompt\.subtlety/);
    const after = await Promise.all(files.map(async (f) => ({ mtime: (await stat(f)).mtimeMs, text: await readFile(f, "utf8") })));
    expect(after).toEqual(before);

    expect((await cli(fx, "eval", "--model", "baseline")).code).toBe(0);
    const r1 = await cli(fx, "report", "--blocks", "1");
    expect(r1.out).toMatch(/^report: wrote /);
    const r2 = await cli(fx, "report", "--blocks", "1");
    expect(r2.code).toBe(0);
    expect(r2.out).toMatch(/^report: up to date \(/);
  }, 90_000);
});
