/** fileLines (io/artifacts.ts), the line reader under every JSONL artifact: the lines readline gave
 * (\n and \r\n, a last line without a newline, lines longer than a read chunk), and no reading ahead
 * of the caller (readline's iterator buffered up to 1,024 lines, most of a corpus-sized file). */
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fileLines, jsonlValues } from "../pipeline/io/artifacts.js";

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function file(content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "whp-lines-"));
  dirs.push(dir);
  const p = join(dir, "f.jsonl");
  await writeFile(p, content);
  return p;
}
async function all(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of fileLines(path)) out.push(l);
  return out;
}

describe("fileLines", () => {
  it("splits on \\n and \\r\\n, keeps blank lines and a last line without a newline", async () => {
    expect(await all(await file("a\r\nb\n\nc"))).toEqual(["a", "b", "", "c"]);
    expect(await all(await file("a\n"))).toEqual(["a"]);
    expect(await all(await file(""))).toEqual([]);
  });

  it("joins a line longer than a read chunk (a document row) whole", async () => {
    const long = "x".repeat(200_000) + "\u2019" + "y".repeat(100_000);
    expect(await all(await file(`${long}\nshort\n`))).toEqual([long, "short"]);
  });

  it("jsonlValues numbers lines as a person counts them, blank ones included", async () => {
    const p = await file('{"a":1}\r\n\n{"a":2}\nnot json\n');
    const got: { raw: unknown; line: number }[] = [];
    await expect(
      (async () => {
        for await (const v of jsonlValues(p, (n) => `f.jsonl line ${n}`)) got.push(v);
      })(),
    ).rejects.toThrow("f.jsonl line 4: not valid JSON");
    expect(got).toEqual([
      { raw: { a: 1 }, line: 1 },
      { raw: { a: 2 }, line: 3 },
    ]);
  });

  it("reads no further than the caller has asked (memory stays at a chunk, not the file)", async () => {
    // 20 MB of 10 kB lines. After the first line, the second half of the file is rewritten in place:
    // a reader that stays within a chunk of the caller sees the new lines, one that read ahead
    // (readline's iterator: up to 1,024 lines, 10 MB here) still hands out the old ones.
    const line = (c: string) => `${c.repeat(10_000)}\n`;
    const p = await file(line("a").repeat(2_000));
    const it = fileLines(p);
    expect((await it.next()).value).toBe("a".repeat(10_000));
    await new Promise((r) => setTimeout(r, 200));
    const handle = await open(p, "r+");
    await handle.write(line("b").repeat(1_000), 1_000 * 10_001);
    await handle.close();
    let a = 1;
    let b = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) r.value.startsWith("a") ? a++ : b++;
    expect({ a, b }).toEqual({ a: 1_000, b: 1_000 });
  });
});
