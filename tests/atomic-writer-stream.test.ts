import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openAtomicWriter, writeFileAtomic } from "../pipeline/io/artifacts.js";
import { artifactWriter } from "../pipeline/schemas/registry.js";
import { sha256 } from "../pipeline/core/hash.js";

const dir = () => mkdtemp(join(tmpdir(), "whp-writer-"));

describe("openAtomicWriter", () => {
  it("publishes the whole file only at commit, with its hash", async () => {
    const d = await dir();
    const path = join(d, "out.jsonl");
    await writeFile(path, "old\n");
    const w = await openAtomicWriter(path);
    const lines: string[] = [];
    // More than one buffer's worth, so the file is really written in pieces.
    for (let i = 0; i < 40_000; i++) {
      const line = `{"i":${i},"pad":"${"x".repeat(40)}"}\n`;
      lines.push(line);
      await w.write(line);
    }
    expect(await readFile(path, "utf8")).toBe("old\n");
    const { sha256: hash, bytes } = await w.commit();
    const text = await readFile(path, "utf8");
    expect(text).toBe(lines.join(""));
    expect(hash).toBe(sha256(text));
    expect(bytes).toBe(Buffer.byteLength(text));
    expect((await readdir(d)).sort()).toEqual(["out.jsonl"]);
  });

  it("abort leaves the old file and no temp", async () => {
    const d = await dir();
    const path = join(d, "out.jsonl");
    await writeFile(path, "old\n");
    const w = await openAtomicWriter(path);
    await w.write("new\n");
    await w.abort();
    expect(await readFile(path, "utf8")).toBe("old\n");
    expect(await readdir(d)).toEqual(["out.jsonl"]);
    await expect(w.write("more")).rejects.toThrow(/already committed or aborted/);
  });

  it("a commit after a queued whole-file write of the same path wins", async () => {
    const d = await dir();
    const path = join(d, "out.txt");
    const w = await openAtomicWriter(path);
    await w.write("streamed\n");
    const whole = writeFileAtomic(path, "whole\n");
    await w.commit();
    await whole;
    expect(await readFile(path, "utf8")).toBe("streamed\n");
  });
});

describe("artifactWriter", () => {
  it("validates each row and writes nothing when one is wrong", async () => {
    const d = await dir();
    const ctx = { path: (name: string) => join(d, `${name}.jsonl`) };
    const w = await artifactWriter(ctx as never, "labels");
    await w.row({ id: "b1", labels: [[1, 2]], uncertified: [] } as never).catch(() => undefined);
    await expect(w.row({ id: 3 } as never)).rejects.toThrow(/labels\.jsonl row/);
    expect(await readdir(d)).toEqual([]);
  });
});
