/**
 * writeFileAtomic: concurrent writes to one path in one process all succeed and leave one payload,
 * whole (the last one asked for); a process killed mid-write leaves the previous file as it was, and
 * the stage's next run removes the temp file it left.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { main } from "../pipeline/cli.js";
import { isStaleTemp, staleTempPattern, tempPathFor, writeFileAtomic } from "../pipeline/io/artifacts.js";
import { capture } from "./helpers/capture.js";
import { makeFixture } from "./helpers/fixture.js";

const ROOT = resolve(import.meta.dirname, "..");
const payload = (i: number, bytes: number) => `${String(i).padStart(4, "0")}:${"x".repeat(bytes)}\n`;
const temps = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith(".tmp"));

describe("writeFileAtomic, concurrent writes to one path", () => {
  for (const n of [2, 20]) {
    it(`${n} writes at once all succeed; the file ends as the last one, whole, and no temp file stays`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "whp-atomic-"));
      const path = join(dir, "out.jsonl");
      // The first payload is the largest, so without the per-path queue it would finish last and win.
      const payloads = Array.from({ length: n }, (_, i) => payload(i, i === 0 ? 4 << 20 : 1000 + i));
      const results = await Promise.allSettled(payloads.map((p) => writeFileAtomic(path, p)));
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      expect(await readFile(path, "utf8")).toBe(payloads[n - 1]);
      expect(await temps(dir)).toEqual([]);
    });
  }

  it("two copies of the module (as in worker threads: one pid, two queues) writing one path both succeed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "whp-atomic-"));
    const path = join(dir, "out.json");
    vi.resetModules();
    const other = (await import("../pipeline/io/artifacts.js")).writeFileAtomic;
    expect(other).not.toBe(writeFileAtomic);
    const payloads = Array.from({ length: 10 }, (_, i) => payload(i, 1 << 16));
    const results = await Promise.allSettled(payloads.map((p, i) => (i % 2 ? other : writeFileAtomic)(path, p)));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(payloads).toContain(await readFile(path, "utf8"));
    expect(await temps(dir)).toEqual([]);
  });

  it("each temp name is new, and names the pid the stage's cleanup checks", () => {
    const a = tempPathFor("/r/train.jsonl");
    expect(a).not.toBe(tempPathFor("/r/train.jsonl"));
    expect(staleTempPattern("train.jsonl").exec(a.slice(3))?.[1]).toBe(String(process.pid));
    expect(staleTempPattern("train.jsonl").exec(`train.jsonl.77.tmp`)?.[1]).toBe("77"); // the earlier form
    // This process's own temp counts as left over (a reused pid) unless it is being written now.
    expect(isStaleTemp("/r", "train.jsonl", a.slice(3))).toBe(true);
  });
  it("a temp file this process is writing now is not taken for a killed run's", async () => {
    const dir = await mkdtemp(join(tmpdir(), "whp-atomic-"));
    const writing = writeFileAtomic(join(dir, "big.bin"), new Uint8Array(64 << 20).fill(0x61));
    let done = false;
    void writing.finally(() => (done = true));
    let seen: string[] = [];
    while (seen.length === 0 && !done) {
      await new Promise((r) => setImmediate(r));
      seen = await temps(dir);
    }
    expect(seen).toHaveLength(1);
    expect(isStaleTemp(dir, "big.bin", seen[0])).toBe(false);
    await writing;
    expect(isStaleTemp(dir, "big.bin", seen[0])).toBe(true); // done: a file of that name now is a leftover
  });
});

describe("writeFileAtomic, killed mid-write", () => {
  it("leaves the previous file intact and whole; the stage's next run removes the temp file", async () => {
    const fx = await makeFixture({}, { forgetChars: 2000, generalChars: 3000 });
    const run = () => capture(() => main(["node", "whp", "run", "--config", fx.configPath, "--quiet"]));
    expect((await run()).code).toBe(0);
    const path = join(fx.runDir, "train.jsonl");
    const before = await readFile(path);

    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "tests", "helpers", "atomic-write-child.ts"), path, "16"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<NodeJS.Signals | null>((done) => child.on("exit", (_code, signal) => done(signal)));
    await new Promise<void>((done, fail) => {
      child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("half") && done());
      child.on("exit", (code) => fail(new Error(`child ended (${code}) before writing half`)));
    });
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    expect((await readFile(path)).equals(before)).toBe(true);
    const left = (await temps(fx.runDir)).filter((n) => n.startsWith(`train.jsonl.${child.pid}.`));
    expect(left).toHaveLength(1);
    expect((await readFile(join(fx.runDir, left[0]))).length).toBe(8 << 20); // half of the 16 MiB

    expect((await run()).code).toBe(0);
    expect(await temps(fx.runDir)).toEqual([]);
    expect((await readFile(path)).equals(before)).toBe(true);
  }, 60_000);
});
