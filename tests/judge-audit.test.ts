/** Judge audit: stratified seeded sampling, keeping filled rows, CSV validation, agreement and the
 * familiarity recomputed with human scores (issue #8, part 3). */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { describe, expect, it } from "vitest";
import { auditReport, parseAuditCsv, sampleJudged, stratumOf, writeJudgeQueue, type JudgedItem } from "../pipeline/eval/judge-audit.js";
import type { JudgeScore } from "../pipeline/eval/familiarity.js";
import type { ScoresFile } from "../pipeline/eval/files.js";
import { judgedScoresFile } from "./helpers/scores-file.js";
import { makeFixture } from "./helpers/fixture.js";
import { whpCli } from "./helpers/capture.js";

const item = (id: string, judgeScore: JudgeScore, subtlety: number, model = "m"): JudgedItem => ({ model, id, subtlety, prompt: `prompt ${id}`, references: ["Tamsin"], completion: `completion ${id}`, judgeScore });


/** A run folder with eval/familiarity.jsonl (n prompts, subtlety 1..10 cycling) and scores files. */
async function makeRun(n: number, models: Record<string, (i: number) => number | null>, runDir?: string): Promise<string> {
  const dir = runDir ?? (await mkdtemp(join(tmpdir(), "whp-audit-")));
  await mkdir(join(dir, "eval"), { recursive: true });
  const ids = Array.from({ length: n }, (_, i) => `f${String(i).padStart(4, "0")}`);
  await writeFile(join(dir, "eval", "familiarity.jsonl"), ids.map((id, i) => `${JSON.stringify({ id, prompt: `Tell me about ${id}`, references: ["Tamsin", "Orrin"], subtlety: (i % 10) + 1, source: "test" })}\n`).join(""));
  for (const [model, score] of Object.entries(models)) {
    await writeFile(join(dir, "eval", `scores-${model}.json`), JSON.stringify(judgedScoresFile(model, ids.map((id, i) => ({ id, completion: `${model} says ${id}${i === 0 ? "\nsecond line" : ""}`, score: score(i) })))));
  }
  return dir;
}

const csvRows = (text: string) => parse(text, { columns: true }) as Record<string, string>[];

describe("sampleJudged", () => {
  const items = [
    ...Array.from({ length: 30 }, (_, i) => item(`a${i}`, 0, 1)),
    ...Array.from({ length: 2 }, (_, i) => item(`b${i}`, 3, 9)),
    ...Array.from({ length: 5 }, (_, i) => item(`c${i}`, 2, 5)),
  ];

  it("is deterministic in the seed, whatever the input order", () => {
    const a = sampleJudged(items, 9, 7);
    expect(sampleJudged([...items].reverse(), 9, 7)).toEqual(a);
    expect(sampleJudged(items, 9, 8).map((x) => x.id)).not.toEqual(a.map((x) => x.id));
  });

  it("spreads the sample over the strata, so a rare stratum is fully seen", () => {
    const s = sampleJudged(items, 9, 7);
    const per = (k: string) => s.filter((x) => stratumOf(x) === k).length;
    // Round robin over 3 strata: 3 rounds of 3 = 9, the 2-item stratum gives 2 and the others fill in.
    expect(s).toHaveLength(9);
    expect(per("score 3, subtlety 8-10")).toBe(2);
    expect(per("score 2, subtlety 4-7")).toBe(3);
    expect(per("score 0, subtlety 1-3")).toBe(4);
    expect(sampleJudged(items, 100, 7)).toHaveLength(items.length);
  });

  it("sees every judge score when the sample is smaller than the number of strata", () => {
    // 4 scores x 3 bands = 12 strata, 8 places: each score gets two strata, whatever the seed.
    const grid = Array.from({ length: 48 }, (_, i) => item(`g${i}`, (i % 4) as JudgeScore, (i % 12 < 4 ? 2 : i % 12 < 8 ? 5 : 9)));
    for (const seed of [1, 2, 3]) {
      const s = sampleJudged(grid, 8, seed);
      expect([0, 1, 2, 3].map((score) => s.filter((x) => x.judgeScore === score).length)).toEqual([2, 2, 2, 2]);
    }
  });
});

describe("writeJudgeQueue", () => {
  it("writes the CSV, rewrites the same bytes, and keeps rows a person filled in", async () => {
    const run = await makeRun(40, { baseline: (i) => i % 4, unlearned: (i) => (i === 5 ? null : i % 7 === 0 ? 2 : 0) });
    const r = await writeJudgeQueue(run, { size: 12, seed: 1 });
    expect(r.judged).toBe(79); // one failed judgement left out
    expect(r.sampled).toBe(12);
    const file = join(run, "review", "judge-audit.csv");
    const first = await readFile(file, "utf8");
    const rows = csvRows(first);
    expect(Object.keys(rows[0])).toEqual(["id", "model", "subtlety", "prompt", "references", "completion", "judge_score", "human_score", "notes"]);
    expect(rows.every((x) => x.human_score === "" && x.references === "Tamsin | Orrin")).toBe(true);
    await writeJudgeQueue(run, { size: 12, seed: 1 });
    expect(await readFile(file, "utf8")).toBe(first);

    // A person scores three rows and notes a fourth; a smaller re-sample keeps all four.
    // The person also added a column of their own.
    const filled = rows.map((x, i) => ({ ...(i < 3 ? { ...x, human_score: "1" } : i === 3 ? { ...x, notes: "unsure" } : x), rater: i < 4 ? "ann" : "" }));
    await writeFile(file, stringify(filled, { header: true }));
    const again = await writeJudgeQueue(run, { size: 2, seed: 1 });
    expect(again.kept).toBe(4);
    const after = csvRows(await readFile(file, "utf8"));
    for (const x of filled.slice(0, 4)) expect(after).toContainEqual(x);
    expect(after.length).toBe(2 + again.keptOutsideSample);
  });

  it("names the missing step when nothing was judged", async () => {
    const run = await makeRun(3, {});
    await expect(writeJudgeQueue(run, { size: 5, seed: 1 })).rejects.toThrow(/no scores file .* holds judged completions/);
    await expect(writeJudgeQueue(run, { size: 5, seed: 1, models: ["oracle"] })).rejects.toThrow(/--model oracle: no scores file/);
  });
});

describe("parseAuditCsv", () => {
  it("reports every bad cell with file, line and column, counting lines inside quoted completions", () => {
    const text = 'id,model,subtlety,prompt,references,completion,judge_score,human_score,notes\nf1,m,1,p,r,"two\nlines",2,4,\nf2,m,1,p,r,c,2,x,\nf3,m,1,p,r,c,9,,\nf2,m,1,p,r,c,1,1,\n';
    let message = "";
    try {
      parseAuditCsv(text, "a.csv");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('a.csv:2: column human_score: expected 0, 1, 2, 3 or empty, got "4"');
    expect(message).toContain('a.csv:4: column human_score: expected 0, 1, 2, 3 or empty, got "x"');
    expect(message).toContain('a.csv:5: column judge_score: expected 0, 1, 2, 3 or empty, got "9"');
    expect(message).toContain('a.csv:6: model "m" id "f2" is already on line 4');
    expect(() => parseAuditCsv("id,model,judge_score\nf1,m,2\n", "b.csv")).toThrow(/missing column\(s\) human_score/);
    expect(parseAuditCsv('id,model,judge_score,human_score,completion\nf1,m,2, 3 ,"c"\n', "c.csv")[0]).toMatchObject({ line: 2, humanScore: 3, judgeScore: 2 });
  });
});

describe("auditReport", () => {
  it("computes agreement and the familiarity with human scores where given", async () => {
    // Four judged completions: 3, 2, 0, 0 -> judge familiarity (5*1 + 1) / 4 = 1.5.
    const scores = [3, 2, 0, 0];
    const run = await makeRun(4, { baseline: (i) => scores[i] });
    await writeJudgeQueue(run, { size: 4, seed: 3 });
    const file = join(run, "review", "judge-audit.csv");
    // The person disagrees on f0000 (3 -> 0) and agrees on f0002 (0); f0001 and f0003 left empty.
    const human: Record<string, string> = { f0000: "0", f0002: "0" };
    const rows = csvRows(await readFile(file, "utf8")).map((x) => ({ ...x, human_score: human[x.id] ?? "" }));
    await writeFile(file, stringify(rows, { header: true }));
    const text = await auditReport(run, file, 5);
    // Two pairs (3,0) and (0,0): exact 50%; p_e = (1*0 + 1*2)/4... rows judge {3:1, 0:1}, columns human {0:2}:
    // p_e = (1/2)(2/2) for category 0 = 0.5, kappa = (0.5 - 0.5) / 0.5 = 0.
    expect(text).toContain("4 rows, 2 scored by a person, 2 scored by both");
    expect(text).toContain("exact agreement 50.0%, Cohen's kappa 0.000");
    expect(text).toMatch(/judge 3:\s+1\s+0\s+0\s+0/);
    // With human scores: 0, 2, 0, 0 -> (5*0 + 1) / 4 = 0.25.
    expect(text).toMatch(/baseline: completion familiarity, judge 1\.500 .*-> with human scores 0\.250 .*2 score\(s\) replaced, 1 changed/);
    const json = JSON.parse(await readFile(join(run, "eval", "audit.json"), "utf8"));
    expect(json).toMatchObject({ format: "whp-judge-audit", version: 1, file: "judge-audit.csv", humanScored: 2 });
    expect(json.familiarity[0].withHuman.score.value).toBe(0.25);

    // The completion was re-judged since: the human score is not used for it, and the report says so.
    await makeRun(4, { baseline: (i) => scores[i] }, run);
    const scoresPath = join(run, "eval", "scores-baseline.json");
    const sf = JSON.parse(await readFile(scoresPath, "utf8")) as ScoresFile;
    sf.familiarity!.judgements[0].completion = "something else";
    await writeFile(scoresPath, JSON.stringify(sf));
    expect(await auditReport(run, file, 5)).toMatch(/with human scores 1\.500 .*1 score\(s\) replaced, 0 changed, 1 not used/);
  });
});

describe("whp review-queue judge", () => {
  it("samples from the run's scores files and tells what to do when there are none", async () => {
    const f = await makeFixture({}, { forgetChars: 500, generalChars: 500 });
    const none = await whpCli(f.configPath, "review-queue", "judge");
    expect(none.code).toBe(2);
    expect(none.err + none.out).toMatch(/whp eval --judge/);
    await makeRun(20, { baseline: (i) => i % 4 }, f.runDir);
    const res = await whpCli(f.configPath, "review-queue", "judge", "--size", "8");
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/8 rows \(8 sampled of 20 judged completions, 0 filled row\(s\) kept\)/);
    expect(res.out).toMatch(/score 3, subtlety 4-7: \d of \d/);
    const auditFile = join(f.runDir, "review", "judge-audit.csv");
    expect(csvRows(await readFile(auditFile, "utf8"))).toHaveLength(8);

    // `whp eval --audit <file>` prints the agreement once a person filled some scores in
    const filled = csvRows(await readFile(auditFile, "utf8")).map((x, i) => ({ ...x, human_score: i < 4 ? x.judge_score : "" }));
    await writeFile(auditFile, stringify(filled, { header: true }));
    const audit = await whpCli(f.configPath, "eval", "--audit", auditFile);
    expect(audit.code, audit.err).toBe(0);
    expect(audit.out).toContain("4 scored by both");
    expect(audit.out).toContain("exact agreement 100.0%");
    const bad = await whpCli(f.configPath, "eval", "--audit", join(f.runDir, "review", "missing.csv"));
    expect(bad.code).toBe(2);
  });
});
