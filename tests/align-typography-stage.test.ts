/** The translate stage on a typeset corpus: a dictionary typed with ' finds the book's ’, writes the
 * translation in the book's style, and reports per term which forms it found. */
import { appendFile, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ModelTokenizer } from "../pipeline/io/tokenizer.js";
import { whpCli } from "./helpers/capture.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

let fx: Fixture | undefined;
afterAll(async () => {
  if (fx) await rm(fx.dir, { recursive: true, force: true });
});

describe("translate stage, curly and straight apostrophes mixed", () => {
  it("translates King’s-Cross-style occurrences of a straight-typed term in the corpus's own style", async () => {
    fx = await makeFixture();
    const [chapter] = (await readdir(join(fx.dir, "forget"))).sort();
    await appendFile(join(fx.dir, "forget", chapter), "\n\nThey met at Kestrel’s Gate at dawn. Later, at Kestrel's Gate, the rain began. Kestrel’s Gate was old.\n");
    await appendFile(join(fx.dir, "anchors.csv"), "Kestrel's Gate,Harbour's End,place,typed straight,approved\n");
    const r = await whpCli(fx.configPath, "run");
    expect(r.code).toBe(0);
    expect(r.err).not.toMatch(/translation-merges-with-context|not-on-token-boundaries/);
    const stats = JSON.parse(await readFile(join(fx.runDir, "stats", "translate.json"), "utf8"));
    expect(stats.perTerm["Kestrel's Gate"]).toBe(3);
    expect(stats.variants["Kestrel's Gate"]).toEqual({ "Kestrel’s Gate": 2, "Kestrel's Gate": 1 });
    expect(stats.termsNeverFound).not.toContain("Kestrel's Gate");

    const tok = await ModelTokenizer.load(join(fx.dir, "tokenizer.json"));
    const aligned = (await readFile(join(fx.runDir, "aligned.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    const texts: string[] = [];
    for (const a of aligned) if (a.occurrences.some((o: { term: string }) => o.term === "Kestrel's Gate")) texts.push(await tok.decode(a.translated_ids));
    const all = texts.join("\n");
    expect(all).toContain("Harbour’s End at dawn");
    expect(all).toContain("at Harbour's End, the rain");
    expect(all).toContain("Harbour’s End was old");
    expect(all).not.toContain("Kestrel");
  }, 60_000);
});
