import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { whpCli } from "./helpers/capture.js";
import { sha256 } from "../pipeline/core/hash.js";
import { renderReport } from "../pipeline/eval/report.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

/** Runs the CLI in-process and returns its exit code, stdout and stderr. */
const cli = (fx: Fixture, ...args: string[]) => whpCli(fx.configPath, ...args);

const files = ["evalset.json", "probability.jsonl", "retain.jsonl", "neighbour.jsonl"];

describe("whp evalset / eval / report on a small run", () => {
  it("mines a deterministic set, scores the four sandbox models, compares and reports them", async () => {
    const [fx, twin] = await Promise.all([makeFixture(), makeFixture()]);
    for (const f of [fx, twin]) {
      expect((await cli(f, "run")).code).toBe(0);
      expect((await cli(f, "evalset", "--size", "20", "--positions", "50")).code).toBe(0);
    }
    for (const f of files) {
      expect(sha256(await readFile(join(fx.runDir, "eval", f)))).toBe(sha256(await readFile(join(twin.runDir, "eval", f))));
    }
    const prompts = (await readFile(join(fx.runDir, "eval", "probability.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(prompts.length).toBeGreaterThan(0);
    expect(prompts.length).toBeLessThanOrEqual(20);
    for (const p of prompts) expect(p.tagged.length).toBeGreaterThan(0);

    const [ev, evTwin] = [await cli(fx, "eval"), await cli(twin, "eval")];
    expect(ev.code).toBe(0);
    // same run, set and seed in another folder: byte-identical scores
    for (const m of ["baseline", "unlearned"]) {
      expect(sha256(await readFile(join(fx.runDir, "eval", `scores-${m}.json`)))).toBe(sha256(await readFile(join(twin.runDir, "eval", `scores-${m}.json`))));
    }
    expect(evTwin.out).toBe(ev.out);
    const lines = ev.out.trim().split("\n");
    expect(lines[0]).toMatch(/^model\s+completion leak rate/);
    expect(lines.slice(1, 5).map((l) => l.split(/\s+/)[0])).toEqual(["baseline", "reinforced", "unlearned", "oracle"]);
    const score = async (m: string) => JSON.parse(await readFile(join(fx.runDir, "eval", `scores-${m}.json`), "utf8"));
    const [base, reinf, unl, oracle] = await Promise.all(["baseline", "reinforced", "unlearned", "oracle"].map(score));
    // Orderings that hold by construction: the reinforced model read the forget set most, the oracle never.
    expect(reinf.scores.probabilityFamiliarity.value).toBeGreaterThan(base.scores.probabilityFamiliarity.value);
    expect(oracle.scores.probabilityFamiliarity.value).toBeLessThan(base.scores.probabilityFamiliarity.value);
    expect(oracle.scores.restorationKL.value).toBe(0);
    expect(base.scores.relativePerplexity.value).toBe(1);
    expect(unl.scores.probabilityFamiliarity.n).toBe(prompts.length);
    expect(unl.scores.restorationKL.n).toBe(50);
    expect(unl.identity.name).toMatch(/^unlearned:eval:/);
    // neighbour texts: held out, disjoint from the random retain texts, scored with a paired ratio
    const set = JSON.parse(await readFile(join(fx.runDir, "eval", "evalset.json"), "utf8"));
    expect(set.neighbourGeneral.length).toBeGreaterThan(0);
    expect(set.neighbourGeneral.filter((id: string) => set.heldOutGeneral.includes(id))).toEqual([]);
    expect(unl.scores.neighbourPerplexity.n).toBe(set.neighbourGeneral.length);
    expect(base.scores.neighbourRelative.value).toBe(1);
    expect(lines[0]).toContain("neighbour perplexity");

    // a repeated evalset / eval finds everything up to date and rewrites nothing
    const before = await Promise.all(["evalset.json", "scores-unlearned.json"].map((f) => stat(join(fx.runDir, "eval", f))));
    expect((await cli(fx, "evalset", "--size", "20", "--positions", "50")).code).toBe(0);
    const again = await cli(fx, "eval");
    expect(again.out).toBe(ev.out);
    const after = await Promise.all(["evalset.json", "scores-unlearned.json"].map((f) => stat(join(fx.runDir, "eval", f))));
    expect(after.map((s) => s.mtimeMs)).toEqual(before.map((s) => s.mtimeMs));

    const cmp = await cli(fx, "eval", "--compare", "baseline", "unlearned");
    expect(cmp.code).toBe(0);
    expect(cmp.out.split("\n").slice(1, 3).map((l) => l.split(/\s+/)[0])).toEqual(["baseline", "unlearned"]);
    expect((await cli(fx, "eval", "--compare", "baseline", "nosuch")).code).toBe(2);
    expect((await cli(fx, "eval", "--model", "teacher")).code).toBe(2);

    expect((await cli(fx, "report", "--blocks", "2")).code).toBe(0);
    const html = await readFile(join(fx.runDir, "report.html"), "utf8");
    expect(html).toContain('<table id="scores">');
    expect(html.match(/<svg /g)?.length).toBe(5); // + neighbour perplexity
    expect(html.match(/<section class="block">/g)?.length).toBe(2);
    expect(html).toMatch(/class="tok changed"/);
    expect(html).toMatch(/class="tok masked"/);
    // self-contained: no scripts, no external resources
    expect(html).not.toMatch(/<script|<link|src=|@import|url\(/i);
  }, 60_000);

  it("refuses to evaluate when the run changed after the evaluation set was written", async () => {
    const fx = await makeFixture();
    expect((await cli(fx, "run")).code).toBe(0);
    expect((await cli(fx, "eval")).code).toBe(2);
    const authors = join(fx.dir, "hp.json");
    await writeFile(authors, JSON.stringify([{ prompt: { prompt: "Aunt", references: ["Wendeline"], subtlety: 2 } }, { prompt: { prompt: "Aunt", references: ["Wendeline"], subtlety: 2 } }]));
    const imp = await cli(fx, "evalset", "--size", "5", "--positions", "5", "--familiarity", authors);
    expect(imp.code).toBe(0);
    expect(imp.out).toContain("imported 1 completion prompts (1 duplicates dropped)");
    expect(JSON.parse(await readFile(join(fx.runDir, "eval", "familiarity.jsonl"), "utf8"))).toEqual({ id: "f0000", prompt: "Aunt", references: ["Wendeline"], subtlety: 2, source: "hp.json" });
    await writeFile(authors, "[{");
    expect((await cli(fx, "evalset", "--familiarity", authors)).code).toBe(2);
    await writeFile(join(fx.runDir, "train.jsonl"), "");
    const r = await cli(fx, "eval", "--model", "baseline");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/train\.jsonl changed since the evaluation set was written/);
  }, 60_000);
});

describe("report rendering", () => {
  it("escapes text and marks changed and masked positions", () => {
    const e = { value: 0.5, n: 2, ci: [0.4, 0.6] as [number, number] };
    const html = renderReport({
      run: "<r>",
      models: [{ model: "baseline", scores: { probabilityFamiliarity: e, leakRate: e, retainPerplexity: e } }],
      blocks: [{ id: "b#0", tokens: ["<s>", "▁a", "<b>", "▁c"], labels: [null, "▁a", null, "▁d"], ids: [1, 2, 3, 4], labelIds: [-100, 2, -100, 5] }],
      maxTokens: 10,
    });
    expect(html).toContain("whp evaluation report: &lt;r&gt;");
    expect(html).toContain('<span class="tok masked" title="masked: not trained"><span class="orig">&lt;b&gt;</span><span class="label"></span></span>');
    expect(html).toContain('<span class="tok"><span class="orig"> a</span><span class="label"></span></span>');
    expect(html).toMatch(/<span class="tok changed"[^>]*><span class="orig"> c<\/span><span class="label"> d<\/span><\/span>/);
    expect(html.match(/<svg /g)?.length).toBe(3); // one chart per score the models have (no KL without an oracle)
  });
});
