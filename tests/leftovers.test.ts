/**
 * Nothing left behind: a kill -9 mid-write leaves `<artifact>.<pid>.tmp` files and the staged
 * `dataset.<pid>.tmp/` folder; the stage's next run removes the ones named after its own outputs, and
 * nothing else (other files, a live process's temp file).
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../pipeline/cli.js";
import { fileExists } from "../pipeline/core/artifacts.js";
import { capture } from "./helpers/capture.js";
import { makeFixture } from "./helpers/fixture.js";

// Above Linux's largest pid_max (2^22), so no process has it.
const DEAD = 4_194_304 + 4321;

describe("stale temp files", () => {
  it("the next run of each stage removes its own <name>.<pid>.tmp files and dataset.<pid>.tmp/, and nothing else", async () => {
    const fx = await makeFixture({}, { forgetChars: 2000, generalChars: 3000 });
    const run = () => capture(() => main(["node", "whp", "run", "--config", fx.configPath, "--quiet"]));
    expect((await run()).code).toBe(0);
    const stale = [`train.jsonl.${DEAD}.tmp`, `labels.jsonl.${DEAD}.tmp`, `documents.jsonl.${DEAD}.tmp`, `stats/labels.json.${DEAD}.tmp`, `.whp/export.json.${DEAD}.tmp`];
    const kept = ["notes.txt", `train.jsonl.bak`, `mine.${DEAD}.tmp`, `train.jsonl.${process.ppid}.tmp`, `train.jsonl.x.tmp`];
    for (const f of [...stale, ...kept]) await writeFile(join(fx.runDir, f), "partial");
    await mkdir(join(fx.runDir, `dataset.${DEAD}.tmp`, "hf"), { recursive: true });
    await writeFile(join(fx.runDir, `dataset.${DEAD}.tmp`, "hf", "train.jsonl"), "partial");

    expect((await run()).code).toBe(0);
    for (const f of stale) expect(await fileExists(join(fx.runDir, f)), f).toBe(false);
    expect(await fileExists(join(fx.runDir, `dataset.${DEAD}.tmp`))).toBe(false);
    for (const f of kept) expect(await fileExists(join(fx.runDir, f)), f).toBe(true); // not a stage's, or its process is alive
    expect((await readdir(fx.runDir)).filter((n) => n.endsWith(".tmp")).sort()).toEqual([`mine.${DEAD}.tmp`, `train.jsonl.${process.ppid}.tmp`, "train.jsonl.x.tmp"].sort());
  });
});
