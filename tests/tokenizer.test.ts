import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { buildTranslation, encodeRequests, planBlock } from "../pipeline/core/align.js";
import { type DictionaryEntry, TermMatcher } from "../pipeline/core/anchors.js";
import { UserError } from "../pipeline/core/errors.js";
import { ModelTokenizer } from "../pipeline/io/tokenizer.js";
import { parseDictionaryCsv } from "../pipeline/stages/dictionary.js";
import { splitIntoBlocks } from "../pipeline/stages/tokenize.js";

const ROOT = resolve(import.meta.dirname, "..");
const load = () => ModelTokenizer.load(resolve(ROOT, "demo/tokenizer.json"));

describe("the model tokenizer", () => {
  it("knows its BOS, vocabulary size and file hash", async () => {
    const tok = await load();
    expect(tok.info.prefixSpecialIds).toEqual([1]);
    expect(tok.info.suffixSpecialIds).toEqual([]);
    expect(tok.info.vocabSize).toBe(32000);
    expect(tok.info.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("gives offsets in JavaScript string indices, also after characters outside the BMP", async () => {
    const tok = await load();
    const text = "Hi \u{1F600} Tamsin ran";
    const enc = await tok.encodeText(text);
    // Byte-fallback tokens of one character share its span, so join the distinct spans.
    const pieces = enc.ids.map((_, i) => text.slice(enc.starts[i], enc.ends[i])).filter((_, i) => i === 0 || enc.starts[i] !== enc.starts[i - 1]);
    expect(pieces.join("")).toBe(text);
    expect(pieces).toContain("\u{1F600}");
    expect(pieces.at(-1)).toBe(" ran");
  });

  it("tokenizes a span in the context it sits in", async () => {
    const tok = await load();
    const bare = await tok.encodeIds("Emma");
    expect(await tok.encodeAfter("", "Emma")).toEqual(bare); // start of text
    const afterSpace = await tok.encodeAfter("said", " Emma");
    expect(afterSpace).toEqual((await tok.encodeIds("said Emma")).slice(1));
    const afterNewline = await tok.encodeAfter("said\n", "Emma");
    expect(afterNewline).not.toEqual(afterSpace); // no leading "\u2581" after a newline
  });

  it("refuses a file that is not a tokenizer, naming it", async () => {
    await expect(ModelTokenizer.load(resolve(ROOT, "package.json"))).rejects.toThrow(UserError);
    await expect(ModelTokenizer.load(resolve(ROOT, "package.json"))).rejects.toThrow(/package\.json is JSON but not a tokenizer/);
  });

  it("on the demo story, every unmasked position's translated prefix decodes to the original prefix with anchors replaced", async () => {
    const tok = await load();
    const text = await readFile(resolve(ROOT, "demo/forget/03-the-ninefold-oath.txt"), "utf8");
    const dict = parseDictionaryCsv(await readFile(resolve(ROOT, "anchors/demo.csv"), "utf8"), "demo.csv");
    const entries = new Map<string, DictionaryEntry>(dict.entries.map((e) => [e.term, e]));
    const matcher = new TermMatcher([...entries.keys()]);
    const blocks = splitIntoBlocks("ch3", await tok.encodeText(text), 256, [1]).slice(0, 3);
    let checked = 0;
    for (const block of blocks) {
      const view = { ids: block.input_ids, starts: block.starts, ends: block.ends, text };
      const plan = planBlock(view, matcher, entries, 5, block.id);
      const t = buildTranslation(view, plan, await tok.contextEncoder(encodeRequests(plan)));
      expect(t.occurrences.length).toBeGreaterThan(3);
      for (let i = 1; i < block.input_ids.length; i += 7) {
        if (t.map[i] < 0) continue;
        let expected = "";
        let at = block.span[0];
        for (const o of t.occurrences) {
          if (o.end > block.ends[i]) break;
          expected += text.slice(at, o.start) + o.translation;
          at = o.end;
        }
        expected += text.slice(at, block.ends[i]);
        expect(await tok.decode(t.translatedIds.slice(0, t.map[i] + 1))).toBe(expected.replace(/^\s+/, ""));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });
});
