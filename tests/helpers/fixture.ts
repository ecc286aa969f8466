/**
 * A small run built from the shipped demo data in a temp folder: two chapters of the demo story, a
 * slice of the general corpus, the demo tokenizer and dictionary. Small enough for tests to run the
 * whole pipeline in seconds.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";

const ROOT = resolve(import.meta.dirname, "..", "..");

export interface Fixture {
  dir: string;
  configPath: string;
  runDir: string;
}

export async function makeFixture(overrides: Record<string, unknown> = {}, opts: { forgetChars?: number; generalChars?: number } = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), "whp-test-"));
  await mkdir(join(dir, "forget"));
  await mkdir(join(dir, "general"));
  const chapters = (await readdir(join(ROOT, "demo", "forget"))).filter((f) => f.endsWith(".txt")).sort().slice(0, 2);
  for (const f of chapters) {
    const text = await readFile(join(ROOT, "demo", "forget", f), "utf8");
    await writeFile(join(dir, "forget", f), text.slice(0, opts.forgetChars ?? 6000));
  }
  const general = (await readdir(join(ROOT, "demo", "general"))).filter((f) => f.endsWith(".txt")).sort();
  const generalText = (await readFile(join(ROOT, "demo", "general", general[0]), "utf8")).slice(0, opts.generalChars ?? 30000);
  await writeFile(join(dir, "general", "general.txt"), generalText);
  await copyFile(join(ROOT, "demo", "tokenizer.json"), join(dir, "tokenizer.json"));
  await copyFile(join(ROOT, "anchors", "demo.csv"), join(dir, "anchors.csv"));
  const config = {
    version: 1,
    run: { name: "t", outDir: "out" },
    corpus: { forget: ["forget"], general: ["general"] },
    tokenizer: "tokenizer.json",
    dictionary: "anchors.csv",
    blockSize: 128,
    seed: 99,
    alpha: 5,
    logits: { topK: 20, chunkBlocks: 2 },
    models: {
      baseline: { provider: "ngram", order: 3, generalWeight: 1, forgetWeight: 1 },
      reinforced: { provider: "ngram", order: 3, generalWeight: 1, forgetWeight: 4 },
    },
    ...overrides,
  };
  const configPath = join(dir, "whp.config.yaml");
  await writeFile(configPath, stringify(config));
  return { dir, configPath, runDir: join(dir, "out") };
}
