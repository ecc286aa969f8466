/**
 * `whp check` runs every input check the stages run and reports all problems at once with their config
 * fields (exit 2); `whp run` runs the same checks before its first stage, so nothing is written.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../pipeline/cli.js";
import { fileExists } from "../pipeline/io/artifacts.js";
import { capture } from "./helpers/capture.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

const made: Fixture[] = [];
const fixture = async () => {
  const fx = await makeFixture({}, { forgetChars: 1500, generalChars: 1500 });
  made.push(fx);
  return fx;
};
afterEach(async () => {
  for (const fx of made.splice(0)) await rm(fx.dir, { recursive: true, force: true });
});

const whp = (...args: string[]) => capture(() => main(["node", "whp", ...args]));

describe("whp check", () => {
  it("says ok on good inputs", async () => {
    const fx = await fixture();
    const r = await whp("check", "--config", fx.configPath);
    expect(r.code).toBe(0);
    expect(r.out).toContain(": ok");
  });

  it("reports a truncated tokenizer, duplicate and short dictionary rows, invalid UTF-8 and binary corpus files, all at once", async () => {
    const fx = await fixture();
    const tok = join(fx.dir, "tokenizer.json");
    await writeFile(tok, (await readFile(tok, "utf8")).slice(0, 5000));
    await writeFile(join(fx.dir, "anchors.csv"), "term,translations,category,notes,status\nTamsin,Hannah,person,,approved\nTamsin,Mary,person,,approved\nBramwell,Frank\n");
    await writeFile(join(fx.dir, "forget", "latin1.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    await writeFile(join(fx.dir, "forget", "image.txt"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
    const r = await whp("check", "--config", fx.configPath);
    expect(r.code).toBe(2);
    expect(r.out).not.toContain(": ok");
    expect(r.err).toMatch(/tokenizer: .*tokenizer\.json is not valid JSON/);
    expect(r.err).toMatch(/corpus\.forget: .*latin1\.txt is not valid UTF-8/);
    expect(r.err).toMatch(/corpus\.forget: .*image\.txt looks binary/);
    expect(r.err).toMatch(/dictionary: .*anchors\.csv is not valid CSV/); // the short row
    await writeFile(join(fx.dir, "anchors.csv"), "term,translations,category,notes,status\nTamsin,Hannah,person,,approved\nTamsin,Mary,person,,approved\n");
    expect((await whp("check", "--config", fx.configPath)).err).toMatch(/dictionary: [\s\S]*duplicate term "Tamsin"/);
  });

  it("names both missing files with their fields", async () => {
    const fx = await fixture();
    const r = await whp("check", "--config", fx.configPath, "--set", "tokenizer=no-tokenizer.json", "--set", "dictionary=no-anchors.csv");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/tokenizer: tokenizer file not found: .*no-tokenizer\.json/);
    expect(r.err).toMatch(/dictionary: file not found: .*no-anchors\.csv/);
  });

  it("whp run stops on the same checks before its first stage writes anything", async () => {
    const fx = await fixture();
    await rm(join(fx.dir, "tokenizer.json"));
    const r = await whp("run", "--config", fx.configPath, "--quiet");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/tokenizer: tokenizer file not found/);
    expect(await fileExists(fx.runDir)).toBe(false);
  });

  it("the init template's advice is a command that exists", async () => {
    const template = await readFile(join(import.meta.dirname, "..", "templates", "whp.config.yaml"), "utf8");
    expect(template).not.toContain("--dry-run");
    expect(template).toContain("whp check");
  });
});
