/** `whp anchors extract | consolidate | check` end to end through the CLI, offline. */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { main } from "../pipeline/cli.js";
import { readReviewFile } from "../pipeline/anchors/review-csv.js";
import { parseDictionaryCsv } from "../pipeline/stages/dictionary.js";
import { makeFixture } from "./helpers/fixture.js";

async function whp(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  const before = process.exitCode;
  try {
    const code = await main(["node", "whp", ...args]);
    const exit = process.exitCode;
    return { code: code || (typeof exit === "number" ? exit : 0), out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
    process.exitCode = before;
  }
}

async function setLlm(configPath: string, llm: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<void> {
  const cfg = parseYaml(await readFile(configPath, "utf8")) as Record<string, unknown>;
  await writeFile(configPath, stringify({ ...cfg, ...extra, llm }));
}

describe("whp anchors", () => {
  it("consolidation, which cannot ask again, refuses a raw answers file with a corrupt line, naming it (exit 2)", async () => {
    const f = await makeFixture({}, { forgetChars: 3000, generalChars: 5000 });
    await setLlm(f.configPath, { provider: "heuristic", reviewFile: "review.csv" });
    const good = JSON.stringify({ version: 1, passageId: "p0", requestHash: "h0", promptHash: "x", model: "gpt-4", source: "llm:gpt-4", text: '{"Harry": "Jon"}' });
    const raw = join(f.dir, "answers.jsonl");
    await writeFile(raw, `${good}\n{"version":1,"passageId":\n${good.replace("h0", "h1")}\n`);
    const res = await whp("anchors", "consolidate", "-c", f.configPath, "--raw", raw, "-q");
    expect(res.code).toBe(2);
    expect(res.err).toMatch(/1 bad line\(s\) in the raw answers:\s+\S*answers\.jsonl:2: not JSON/);
  });

  it("consolidates offline from 380 `translations = {...}` answers, 5 cut off mid-object, keeping every complete pair", async () => {
    const f = await makeFixture({}, { forgetChars: 3000, generalChars: 5000 });
    await setLlm(f.configPath, { provider: "heuristic", reviewFile: "review.csv" });
    const lines: string[] = [];
    let complete = 0;
    for (let r = 0; r < 380; r++) {
      // 15 pairs per answer; term names repeat across answers (as real ones do), candidates vary.
      const pairs = Array.from({ length: 15 }, (_, k) => `    "Name${(r * 7 + k) % 600}": "Generic${r % 3}",  # note`);
      let text = `Sure, here you go:\n\`\`\`python\ntranslations = {\n${pairs.join("\n")}\n}\n\`\`\``;
      if (r % 76 === 0) text = text.slice(0, text.indexOf(pairs[10]) + 14);
      complete += r % 76 === 0 ? 10 : 15;
      lines.push(JSON.stringify({ version: 1, passageId: `p${String(r).padStart(3, "0")}`, requestHash: `h${r}`, promptHash: "x", model: "gpt-4", source: "llm:gpt-4", text }));
    }
    const raw = join(f.dir, "answers.jsonl");
    await writeFile(raw, `${lines.join("\n")}\n`);
    const res = await whp("anchors", "consolidate", "-c", f.configPath, "--raw", raw, "-q");
    expect(res.err).toBe("");
    expect(res.code).toBe(0);
    expect(res.out).toContain(`380 answers (5 cut off), ${complete} pairs kept, dropped: cut off 5`);
    const review = readReviewFile(await readFile(join(f.dir, "review.csv"), "utf8"), "review.csv");
    const expected = new Set<string>();
    for (let r = 0; r < 380; r++) for (let k = 0; k < (r % 76 === 0 ? 10 : 15); k++) expected.add(`Name${(r * 7 + k) % 600}`);
    expect(new Set(review.rows.map((x) => x.cells.term))).toEqual(expected);
    expect(review.rows.every((x) => x.cells.status === "pending" && x.cells.flags.includes("absent"))).toBe(true);
    const report = JSON.parse(await readFile(join(f.runDir, "anchors", "consolidation.json"), "utf8"));
    expect(report.report).toMatchObject({ answers: 380, truncatedAnswers: 5, pairsKept: complete });
  });

  it("offline extractor -> review -> re-run keeps every reviewer edit byte for byte; only approved rows reach the dictionary", async () => {
    const f = await makeFixture({}, { forgetChars: 6000, generalChars: 20000 });
    await setLlm(f.configPath, { provider: "heuristic", reviewFile: "review.csv", heuristic: { maxTerms: 30, minCount: 2 } });
    expect((await whp("anchors", "extract", "-c", f.configPath, "-q")).code).toBe(0);
    const c1 = await whp("anchors", "consolidate", "-c", f.configPath, "-q");
    expect(c1.code).toBe(0);
    const file = join(f.dir, "review.csv");
    const first = await readFile(file, "utf8");
    const rows = first.trimEnd().split("\n");
    expect(rows.length).toBeGreaterThan(4);
    expect(rows.slice(1).every((r) => r.includes(",pending,") && r.includes(",heuristic,"))).toBe(true);
    expect(first).toMatch(/^Tamsin,/m);

    // The reviewer approves Tamsin with their own candidates and a note, rejects the next row, and
    // adds a column.
    const edited = rows.map((r, i) => {
      if (i === 0) return `${r},reviewer`;
      if (r.startsWith("Tamsin,")) return `Tamsin,"Emma|Lucy, the girl",person,"checked; ""Tam"" too",approved${r.slice(r.indexOf(",pending,") + 8)},me`;
      if (i === 1) return `${r.replace(",pending,", ",rejected,")},me`;
      return `${r},`;
    });
    const reviewed = `${edited.join("\n")}\n`;
    await writeFile(file, reviewed);
    const tamsinLine = edited.find((r) => r.startsWith("Tamsin,"))!;

    // Re-running both steps changes no reviewed byte.
    expect((await whp("anchors", "extract", "-c", f.configPath, "-q")).code).toBe(0);
    expect((await whp("anchors", "consolidate", "-c", f.configPath, "-q")).code).toBe(0);
    const after = await readFile(file, "utf8");
    expect(after).toBe(reviewed);
    expect(after.split("\n")).toContain(tamsinLine);

    // check: valid, with flags listed as file:line.
    const check = await whp("anchors", "check", "-c", f.configPath);
    expect(check.code).toBe(0);
    expect(check.out).toMatch(/0 error\(s\)/);

    // The dictionary stage reads the review file and keeps only the approved row.
    await setLlm(f.configPath, { provider: "heuristic", reviewFile: "review.csv" }, { dictionary: "review.csv" });
    expect((await whp("dictionary", "-c", f.configPath, "-q")).code).toBe(0);
    const dict = JSON.parse(await readFile(join(f.runDir, "dictionary.json"), "utf8"));
    expect(dict.entries).toEqual([{ term: "Tamsin", translations: ["Emma", "Lucy, the girl"], category: "person" }]);
  });

  it("a spreadsheet-saved review file (BOM, CRLF, quoted cells) keeps every reviewed byte", async () => {
    const f = await makeFixture({}, { forgetChars: 4000, generalChars: 20000 });
    await setLlm(f.configPath, { provider: "heuristic", reviewFile: "review.csv", heuristic: { maxTerms: 10, minCount: 2 } });
    const saved = '\uFEFFterm,translations,category,notes,status\r\n"Tamsin","Emma|Lucy","person","line one\r\nline two",approved\r\nOrrin,Tom,person,,rejected\r\n';
    await writeFile(join(f.dir, "review.csv"), saved);
    expect((await whp("anchors", "extract", "-c", f.configPath, "-q")).code).toBe(0);
    const res = await whp("anchors", "consolidate", "-c", f.configPath, "-q");
    expect(res.code).toBe(0);
    const after = await readFile(join(f.dir, "review.csv"), "utf8");
    expect(after.startsWith("\uFEFFterm,translations,category,notes,status,proposed,")).toBe(true);
    expect(after).toContain('\r\n"Tamsin","Emma|Lucy","person","line one\r\nline two",approved,,,,,,\r\nOrrin,Tom,person,,rejected,,,,,,\r\n');
    expect(after.replace(/\r\n/g, "").includes("\n")).toBe(false);
    const check = await whp("anchors", "check", "-c", f.configPath);
    expect(check.code).toBe(0);
    expect(check.out).toMatch(/review\.csv: \d+ rows, 0 error\(s\)/);
  });

  it("check reports every problem with file:line and exits 2", async () => {
    const f = await makeFixture({}, { forgetChars: 2000, generalChars: 2000 });
    await setLlm(f.configPath, { provider: "heuristic", reviewFile: "review.csv" });
    await writeFile(join(f.dir, "review.csv"), "term,translations,category,notes,status\nTamsin,Emma,person,,approved\nOrrin,,person,,pending\nTamsin,Lucy,person,,approved\nCinderholt,Emma Carter,place,,maybe\n");
    const res = await whp("anchors", "check", "-c", f.configPath);
    expect(res.code).toBe(2);
    const file = join(f.dir, "review.csv");
    expect(res.out).toContain(`error: ${file}:3: "Orrin" has no translation`);
    expect(res.out).toContain(`error: ${file}:4: duplicate term "Tamsin"`);
    expect(res.out).toContain(`error: ${file}:5: status "maybe"`);
    expect(res.out).toContain(`${file}:5: kind-mismatch: place "Cinderholt" has candidate "Emma Carter"`);
    expect(res.err).toMatch(/cannot be used as the dictionary/);
  });

  it("the demo can run end to end on the offline extractor's dictionary (llm.autoApprove)", async () => {
    const f = await makeFixture({ dictionary: "review.csv" }, { forgetChars: 5000, generalChars: 20000 });
    await setLlm(f.configPath, { provider: "heuristic", reviewFile: "review.csv", autoApprove: true, heuristic: { maxTerms: 20, minCount: 2 } });
    expect((await whp("anchors", "extract", "-c", f.configPath, "-q")).code).toBe(0);
    expect((await whp("anchors", "consolidate", "-c", f.configPath, "-q")).code).toBe(0);
    const text = await readFile(join(f.dir, "review.csv"), "utf8");
    const approved = parseDictionaryCsv(text, "review.csv").entries;
    expect(approved.length).toBeGreaterThan(3);
    const run = await whp("run", "-c", f.configPath, "-q");
    expect(run.err).not.toMatch(/error|failure/);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/anchor occurrences [1-9]/);
  });
});
