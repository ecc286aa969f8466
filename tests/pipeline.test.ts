import { spawn } from "node:child_process";
import { readFile, readdir, stat, writeFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../pipeline/cli.js";
import { sha256 } from "../pipeline/core/hash.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

const ROOT = resolve(import.meta.dirname, "..");

async function run(fx: Fixture, ...args: string[]): Promise<number> {
  return main(["node", "whp", ...(args.length ? args : ["run"]), "--config", fx.configPath, "--quiet"]);
}

/** Every file under the run folder, with its bytes' hash and mtime. */
async function snapshot(dir: string): Promise<Map<string, { hash: string; mtime: number }>> {
  const out = new Map<string, { hash: string; mtime: number }>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out.set(p.slice(dir.length), { hash: sha256(await readFile(p)), mtime: (await stat(p)).mtimeMs });
  }
  return out;
}

/** The bytes of a run folder, by file, without the stages' mtime stamps (.whp/<stage>.stamps.json):
 * those record when this machine wrote each file, so two identical runs differ there and only there. */
const contentOf = (snap: Map<string, { hash: string }>) => [...snap.entries()].filter(([k]) => !k.endsWith(".stamps.json")).map(([k, v]) => [k, v.hash]);

async function jsonl(path: string): Promise<Record<string, unknown>[]> {
  return (await readFile(path, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
}

describe("the whole pipeline on a small run", () => {
  it("writes train.jsonl rows in the Hugging Face label convention, with a manifest that matches the files", async () => {
    const fx = await makeFixture();
    expect(await run(fx)).toBe(0);
    const rows = await jsonl(join(fx.runDir, "train.jsonl"));
    const manifest = JSON.parse(await readFile(join(fx.runDir, "manifest.json"), "utf8"));
    const V = manifest.tokenizer.vocabSize;
    expect(rows.length).toBeGreaterThan(2);
    let changed = 0;
    let masked = 0;
    for (const row of rows) {
      const ids = row.input_ids as number[];
      for (const col of ["labels", "labels_alpha_2.5", "labels_alpha_10", "attention_mask"]) expect((row[col] as number[]).length).toBe(ids.length);
      const labels = row.labels as number[];
      expect(ids[0]).toBe(1); // every block starts with the tokenizer's BOS
      expect(labels[0]).toBe(-100);
      for (const l of labels) expect(l === -100 || (Number.isInteger(l) && l >= 0 && l < V)).toBe(true);
      const counts = row.counts as { masked: number; changed: number };
      changed += counts.changed;
      masked += counts.masked;
    }
    expect(changed).toBeGreaterThan(0);
    expect(masked).toBeGreaterThan(0);
    expect(manifest.counts.changed).toBe(changed);
    for (const f of manifest.files) expect(sha256(await readFile(join(fx.runDir, f.path)))).toBe(f.sha256);
    expect(manifest.logitSpace).toBe("logprobs");
    expect(manifest.alphas.columns).toEqual(["labels", "labels_alpha_2.5", "labels_alpha_10"]);
  });

  it("a second run with nothing changed does no work and rewrites nothing; a config change re-runs only what it affects", async () => {
    const fx = await makeFixture();
    expect(await run(fx)).toBe(0);
    const before = await snapshot(fx.runDir);
    expect(await run(fx)).toBe(0);
    expect(await snapshot(fx.runDir)).toEqual(before);

    // A new alpha changes labels and export, not tokenization or translation.
    const cfg = await readFile(fx.configPath, "utf8");
    await writeFile(fx.configPath, cfg.replace("alpha: 5", "alpha: 4"));
    expect(await run(fx)).toBe(0);
    const after = await snapshot(fx.runDir);
    expect(after.get("/blocks.jsonl")).toEqual(before.get("/blocks.jsonl"));
    expect(after.get("/aligned.jsonl")).toEqual(before.get("/aligned.jsonl"));
    expect(after.get("/labels.jsonl")?.hash).not.toBe(before.get("/labels.jsonl")?.hash);
  });

  it("gives byte-identical artifacts for the same inputs, config and seed, and different draws for another seed", async () => {
    const [a, b, c] = await Promise.all([makeFixture(), makeFixture(), makeFixture({ seed: 100 })]);
    for (const fx of [a, b, c]) expect(await run(fx)).toBe(0);
    const sa = await snapshot(a.runDir);
    const sb = await snapshot(b.runDir);
    expect(contentOf(sb)).toEqual(contentOf(sa));
    const sc = await snapshot(c.runDir);
    expect(sc.get("/aligned.jsonl")?.hash).not.toBe(sa.get("/aligned.jsonl")?.hash);
  });

  it("killed half way through the labels stage, a restarted run finishes with the same bytes as an uninterrupted one", async () => {
    const many = { logits: { topK: 20, chunkBlocks: 1 } };
    const [whole, killed] = await Promise.all([makeFixture(many), makeFixture(many)]);
    expect(await run(whole)).toBe(0);

    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "tests/helpers/run-cli.ts"), "run", "--config", killed.configPath, "--quiet"], { cwd: ROOT, stdio: "ignore" });
    const partsRoot = join(killed.runDir, ".whp", "labels.parts");
    const exited = new Promise<void>((done) => child.on("exit", () => done()));
    let sawChunk = false;
    for (let i = 0; i < 6000 && child.exitCode === null; i++) {
      const dirs = await readdir(partsRoot).catch(() => [] as string[]);
      const chunks = dirs.length ? await readdir(join(partsRoot, dirs[0])).catch(() => [] as string[]) : [];
      if (chunks.some((f) => f.endsWith(".jsonl"))) {
        sawChunk = true;
        child.kill("SIGKILL");
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await exited;
    expect(sawChunk).toBe(true);
    await expect(stat(join(killed.runDir, "train.jsonl"))).rejects.toThrow();

    expect(await run(killed)).toBe(0);
    const a = await snapshot(whole.runDir);
    const b = await snapshot(killed.runDir);
    expect(contentOf(b)).toEqual(contentOf(a));
  });
});

describe("top-k rows against full rows, end to end", () => {
  it("top-k labels differ from full-row labels only at positions counted as uncertified", async () => {
    const small = { forgetChars: 1200, generalChars: 20000 };
    const [full, k5] = await Promise.all([makeFixture({ logits: { topK: "full", chunkBlocks: 4 } }, small), makeFixture({ logits: { topK: 5, chunkBlocks: 4 } }, small)]);
    expect(await run(full)).toBe(0);
    expect(await run(k5)).toBe(0);
    const a = await jsonl(join(full.runDir, "labels.jsonl"));
    const b = await jsonl(join(k5.runDir, "labels.jsonl"));
    let differing = 0;
    let uncertified = 0;
    let compared = 0;
    b.forEach((row, i) => {
      const [fullLabels, topkLabels] = [(a[i].labels as number[][])[0], (row.labels as number[][])[0]];
      for (let t = 0; t < fullLabels.length; t++) {
        if (fullLabels[t] !== topkLabels[t]) differing++;
        if (fullLabels[t] >= 0) compared++;
      }
      uncertified += (row.uncertified as number[])[0];
      expect((a[i].uncertified as number[])[0]).toBe(0); // full rows are exact
    });
    expect(compared).toBeGreaterThan(500);
    expect(uncertified).toBeGreaterThan(0); // k = 5 is small enough to leave some unproven
    expect(differing).toBeLessThanOrEqual(uncertified);
  });
});

describe("bad input: a clear error (exit 2) and no partial output", () => {
  async function expectRefused(fx: Fixture, expected: RegExp): Promise<void> {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await run(fx);
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(2);
    expect(lines.join("")).toMatch(expected);
    const files = await readdir(fx.runDir, { recursive: true }).catch(() => [] as string[]);
    expect(files.filter((f) => f.endsWith(".tmp") || f.endsWith("train.jsonl") || f.endsWith("manifest.json"))).toEqual([]);
  }

  it("an empty forget corpus", async () => {
    const fx = await makeFixture();
    for (const f of await readdir(join(fx.dir, "forget"))) await writeFile(join(fx.dir, "forget", f), "  \n");
    await expectRefused(fx, /the forget corpus is empty/);
  });

  it("a binary file", async () => {
    const fx = await makeFixture();
    await writeFile(join(fx.dir, "forget", "image.txt"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x0d]));
    await expectRefused(fx, /forget\/image\.txt looks binary \(NUL byte at byte 4, line 1\)/);
  });

  it("invalid UTF-8", async () => {
    const fx = await makeFixture();
    await writeFile(join(fx.dir, "forget", "latin1.txt"), Buffer.from("caf\xe9 au lait\n", "latin1"));
    await expectRefused(fx, /latin1\.txt is not valid UTF-8 \(byte 0xe9 at byte 3, line 1\)[\s\S]*iconv/);
  });

  it("a dictionary with a missing column", async () => {
    const fx = await makeFixture();
    await writeFile(join(fx.dir, "anchors.csv"), "term,category,notes\nTamsin,person,\n");
    await expectRefused(fx, /anchors\.csv is missing column\(s\) "translations"/);
  });

  it("a dictionary with a duplicate term", async () => {
    const fx = await makeFixture();
    await writeFile(join(fx.dir, "anchors.csv"), "term,translations,category,notes\nTamsin,Emma,person,\nTamsin,Lucy,person,\n");
    await expectRefused(fx, /line 3: duplicate term "Tamsin" \(first on line 2\)/);
  });

  it("a tokenizer.json that does not parse", async () => {
    const fx = await makeFixture();
    await writeFile(join(fx.dir, "tokenizer.json"), '{"version": "1.0", "model": ');
    await expectRefused(fx, /tokenizer\.json is not valid JSON/);
  });

  it("a block size larger than the model allows", async () => {
    const fx = await makeFixture({
      models: {
        baseline: { provider: "ngram", order: 3, maxModelLen: 64 },
        reinforced: { provider: "ngram", order: 3, forgetWeight: 4, maxModelLen: 64 },
      },
    });
    await expectRefused(fx, /accepts at most 64 tokens[\s\S]*lower blockSize/);
  });

  it("CRLF line endings and a BOM are normalised, not refused", async () => {
    const fx = await makeFixture();
    const [first] = (await readdir(join(fx.dir, "forget"))).sort();
    const text = await readFile(join(fx.dir, "forget", first), "utf8");
    await writeFile(join(fx.dir, "forget", first), `\ufeff${text.replace(/\n/g, "\r\n")}`);
    expect(await run(fx)).toBe(0);
    const docs = await jsonl(join(fx.runDir, "documents.jsonl"));
    expect(docs[0].text).toBe(text);
    expect(docs[0].bom).toBe(true);
    await rm(fx.dir, { recursive: true, force: true });
  });
});
