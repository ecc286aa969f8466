/**
 * Nothing left behind: a kill -9 mid-write leaves `<artifact>.<pid>.<random>.tmp` files and the staged
 * `dataset.<pid>.<random>.tmp/` folder (or `.<pid>.tmp`, the form earlier versions used); the stage's next run removes the ones named after its own outputs, and
 * nothing else (other files, a live process's temp file).
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../pipeline/cli.js";
import { fileExists } from "../pipeline/io/artifacts.js";
import { capture } from "./helpers/capture.js";
import { makeFixture } from "./helpers/fixture.js";

// Above Linux's largest pid_max (2^22), so no process has it.
const DEAD = 4_194_304 + 4321;

describe("stale temp files", () => {
  it("the next run of each stage removes its own <name>.<pid>.tmp files and dataset.<pid>.tmp/, and nothing else", async () => {
    const fx = await makeFixture({}, { forgetChars: 2000, generalChars: 3000 });
    const run = () => capture(() => main(["node", "whp", "run", "--config", fx.configPath, "--quiet"]));
    expect((await run()).code).toBe(0);
    const stale = [`train.jsonl.${DEAD}.tmp`, `labels.jsonl.${DEAD}.tmp`, `documents.jsonl.${DEAD}.tmp`, `stats/labels.json.${DEAD}.tmp`, `.whp/export.json.${DEAD}.tmp`, `labels.jsonl.${DEAD}.0a1b2c3d4e5f.tmp`];
    const kept = ["notes.txt", `train.jsonl.bak`, `mine.${DEAD}.tmp`, `train.jsonl.${process.ppid}.tmp`, `train.jsonl.x.tmp`, `train.jsonl.${process.ppid}.0a1b2c3d4e5f.tmp`];
    for (const f of [...stale, ...kept]) await writeFile(join(fx.runDir, f), "partial");
    await mkdir(join(fx.runDir, `dataset.${DEAD}.tmp`, "hf"), { recursive: true });
    await mkdir(join(fx.runDir, `dataset.${DEAD}.0a1b2c3d4e5f.tmp`));
    await writeFile(join(fx.runDir, `dataset.${DEAD}.tmp`, "hf", "train.jsonl"), "partial");

    expect((await run()).code).toBe(0);
    for (const f of stale) expect(await fileExists(join(fx.runDir, f)), f).toBe(false);
    expect(await fileExists(join(fx.runDir, `dataset.${DEAD}.tmp`))).toBe(false);
    expect(await fileExists(join(fx.runDir, `dataset.${DEAD}.0a1b2c3d4e5f.tmp`))).toBe(false);
    for (const f of kept) expect(await fileExists(join(fx.runDir, f)), f).toBe(true); // not a stage's, or its process is alive
    expect((await readdir(fx.runDir)).filter((n) => n.endsWith(".tmp")).sort()).toEqual([`mine.${DEAD}.tmp`, `train.jsonl.${process.ppid}.tmp`, "train.jsonl.x.tmp", `train.jsonl.${process.ppid}.0a1b2c3d4e5f.tmp`].sort());
  });
});
