/**
 * Errors that point at the right thing, and a run summary whose numbers and warnings say what they
 * mean: --set values blamed on the flag, inspect --rows exact and validated, dictionary rows left out
 * or doubtful named in the summary, the changed-label share over both denominators.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../pipeline/cli.js";
import { parseOverride } from "../pipeline/config.js";
import { capture } from "./helpers/capture.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

let fx: Fixture;
const whp = (...args: string[]) => capture(() => main(["node", "whp", ...args]));

beforeAll(async () => {
  fx = await makeFixture({}, { forgetChars: 2500, generalChars: 4000 });
});
afterAll(async () => {
  await rm(fx.dir, { recursive: true, force: true });
});

describe("--set errors name the flag", () => {
  it("a bad value blames --set <key>, not the config file", async () => {
    const r = await whp("check", "--config", fx.configPath, "--set", "blockSize=abc");
    expect(r.code).toBe(2);
    expect(r.err).toContain("--set blockSize: ");
    expect(r.err).toContain('got "abc"');
    expect(r.err).not.toContain("has errors");
  });

  it("a list written without brackets gets the working form as its hint; [hf,text] is accepted", async () => {
    const r = await whp("check", "--config", fx.configPath, "--set", "export.formats=hf,text");
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--set 'export.formats=["hf","text"]'`);
    expect(r.err).toContain("--set export.formats=[hf,text]");
    expect(parseOverride("export.formats=[hf,text]")).toEqual(["export.formats", ["hf", "text"]]);
    expect(parseOverride("alphaVariants=[2, 8]")).toEqual(["alphaVariants", [2, 8]]);
    expect((await whp("check", "--config", fx.configPath, "--set", "export.formats=[hf,text]")).code).toBe(0);
  });
});

describe("a run over a dictionary with doubtful rows", () => {
  let summary = "";
  beforeAll(async () => {
    const csv = await readFile(join(fx.dir, "anchors.csv"), "utf8");
    const extra = ["Zyxwvutsrq,Bob,person,never in the corpus,approved", "tamsin,Anna,person,case-only twin,approved", "Holland,Frank||,person,empty candidate,approved", "Orrin Blank,Tom,person,no status,"];
    await writeFile(join(fx.dir, "anchors.csv"), `${csv.trimEnd()}\n${extra.join("\n")}\n`);
    const r = await whp("run", "--config", fx.configPath, "--quiet");
    expect(r.code).toBe(0);
    summary = r.out;
  });

  it("warns about a term that never occurs, a case-only near-duplicate, an empty candidate, and rows without a status", async () => {
    const never = summary.match(/warning: (\d+) dictionary terms never occur in the forget corpus: /);
    const stats = JSON.parse(await readFile(join(fx.runDir, "stats", "translate.json"), "utf8")) as { termsNeverFound: string[] };
    expect(stats.termsNeverFound).toContain("Zyxwvutsrq");
    expect(Number(never?.[1])).toBe(stats.termsNeverFound.length);
    expect(summary).toMatch(/warning: 1 terms differ from another only in letter case: "tamsin" \(line \d+\) \/ "Tamsin"/);
    expect(summary).toMatch(/warning: 1 rows have an empty candidate translation .*"Holland"/);
    expect(summary).toMatch(/warning: 1 rows without a status were left out .*"Orrin Blank"/);
  });

  it("gives the changed-label share over the trained labels and over all positions, with both denominators", () => {
    const m = summary.match(/positions (\d+): masked (\d+) .*trained (\d+)\n\s+label differs from the original token at (\d+) positions: ([\d.]+)% of the (\d+) trained labels, ([\d.]+)% of all (\d+) positions/);
    expect(m, summary).not.toBeNull();
    const [positions, masked, trained, changed, ofTrained, trainedAgain, ofAll, positionsAgain] = m!.slice(1).map(Number);
    expect(trained).toBe(positions - masked);
    expect([trainedAgain, positionsAgain]).toEqual([trained, positions]);
    expect(ofTrained).toBeCloseTo((100 * changed) / trained, 1);
    expect(ofAll).toBeCloseTo((100 * changed) / positions, 1);
  });

  it("a file without a status column: every row approved, and the summary says so", async () => {
    const csv = (await readFile(join(fx.dir, "anchors.csv"), "utf8")).split("\n").filter((l) => l && !l.endsWith(","));
    await writeFile(join(fx.dir, "anchors.csv"), `${csv.map((l) => l.replace(/,(approved|pending|rejected|status)$/, "")).join("\n")}\n`);
    const r = await whp("run", "--config", fx.configPath, "--quiet");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/warning: .*anchors\.csv has no status column: all \d+ rows were taken as approved/);
    expect(r.out).not.toContain("without a status");
  });

  it("inspect --rows n shows n positions; --rows abc is refused", async () => {
    const use = await firstBlockId();
    const ok = await whp("inspect", use, "--config", fx.configPath, "--rows", "5", "--quiet");
    expect(ok.code).toBe(0);
    expect(ok.out.split("\n").filter((l) => /^\s+\d+\s+"/.test(l))).toHaveLength(5);
    const bad = await whp("inspect", use, "--config", fx.configPath, "--rows", "abc");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--rows: expected a whole number of positions (1 or more), got "abc"');
  });
});

async function firstBlockId(): Promise<string> {
  const line = (await readFile(join(fx.runDir, "blocks.jsonl"), "utf8")).split("\n")[0];
  return (JSON.parse(line) as { id: string }).id;
}
