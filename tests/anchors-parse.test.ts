import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readLenientJson } from "../pipeline/anchors/lenient-json.js";
import { parseAnswer, stripCodeFence } from "../pipeline/anchors/parse.js";

const pairs = (text: string) => parseAnswer(text).proposals.map((p) => [p.term, p.translations.join("|")]);

describe("lenient JSON reader", () => {
  it("reads comments, trailing commas, single quotes, bare keys and Python literals", () => {
    const r = readLenientJson(`{ // names\n 'a': [1, 2,], b: True, /* x */ "c": None, # end\n}`);
    expect(r.value).toEqual({ a: [1, 2], b: true, c: null });
    expect(r.stopped).toBeUndefined();
  });

  it("keeps finished members at every depth when the text ends, and names the open containers", () => {
    const r = readLenientJson('{"x": [{"a": "1"}, {"a": "2", "b": ["p"');
    expect(r.value).toEqual({ x: [{ a: "1" }, { a: "2", b: ["p"] }] });
    expect(r.stopped?.reason).toBe("cut off");
    const root = r.value as { x: object[] };
    expect(r.open.has(root.x[1])).toBe(true);
    expect(r.open.has(root.x[0])).toBe(false);
  });

  it("never throws on any input", () => {
    fc.assert(fc.property(fc.string(), (s) => {
      readLenientJson(s);
    }));
  });
});

describe("parseAnswer", () => {
  it("reads the structured form", () => {
    const r = parseAnswer('{"anchors":[{"term":"Tamsin","translations":["Emma","Lucy"],"category":"Person"}]}');
    expect(r.proposals).toEqual([{ term: "Tamsin", translations: ["Emma", "Lucy"], category: "person" }]);
    expect(r.dropped).toEqual([]);
  });

  it("reads the reference style: prose, a code fence, a `translations = {...}` assignment, comments, trailing commas", () => {
    const text = "Here are the terms:\n```python\ntranslations = {\n    'Tamsin': 'Emma',  # heroine\n    \"Orrin Blackwater\": \"Tom Harris\", // friend\n    'Saltcharm': ['charm', 'spell',],\n}\n```\nHope this helps!";
    expect(pairs(text)).toEqual([
      ["Tamsin", "Emma"],
      ["Orrin Blackwater", "Tom Harris"],
      ["Saltcharm", "charm|spell"],
    ]);
    expect(parseAnswer(text).dropped).toEqual([]);
  });

  it("strips an unclosed code fence", () => {
    expect(stripCodeFence('```json\n{"a": "b"}')).toBe('{"a": "b"}');
    expect(pairs('```json\n{"Vane": "Morgan"}')).toEqual([["Vane", "Morgan"]]);
  });

  it("recovers every complete pair of a map cut off inside a value, and counts the lost one", () => {
    const r = parseAnswer('translations = {"Tamsin": "Emma", "Orrin": "Tom", "Vane": "Mor');
    expect(r.proposals.map((p) => p.term)).toEqual(["Tamsin", "Orrin"]);
    expect(r.truncated).toBe(true);
    expect(r.dropped).toEqual([{ reason: "cut off", detail: expect.stringContaining("inside a string") }]);
  });

  it("loses nothing when the text ends between two members", () => {
    const r = parseAnswer('{"Tamsin": "Emma", "Orrin": "Tom",\n');
    expect(r.proposals).toHaveLength(2);
    expect(r.truncated).toBe(true);
    expect(r.dropped).toEqual([]);
  });

  it("counts an unfinished item of the structured list once", () => {
    const r = parseAnswer('{"anchors":[{"term":"A","translations":["x"],"category":"place"},{"term":"B","translations":["y"');
    expect(r.proposals.map((p) => p.term)).toEqual(["A"]);
    expect(r.dropped).toHaveLength(1);
    expect(r.dropped[0].reason).toBe("cut off");
  });

  it("counts an unfinished candidate list of a map once", () => {
    const r = parseAnswer('{"A": ["x"], "B": ["y", "z"');
    expect(pairs('{"A": ["x"], "B": ["y", "z"')).toEqual([["A", "x"]]);
    expect(r.dropped.map((d) => d.reason)).toEqual(["cut off"]);
  });

  it("reports invalid items and syntax errors with reasons, keeping the rest", () => {
    const r = parseAnswer('{"anchors":[{"term":"A","translations":[]},{"term":"B","translations":"y"},{"name":"C","translation":"z"},{"term":"D","translations":["D"]}]}');
    expect(r.proposals.map((p) => [p.term, p.translations])).toEqual([["B", ["y"]], ["C", ["z"]]]);
    expect(r.dropped.map((d) => d.reason)).toEqual(["invalid item", "invalid item"]);
    const s = parseAnswer('{"A": "x", "B" "y", "C": "z"}');
    expect(pairs('{"A": "x", "B" "y", "C": "z"}')).toEqual([["A", "x"]]);
    expect(s.dropped).toEqual([{ reason: "syntax", detail: expect.stringContaining('expected ":" after "B"') }]);
  });

  it("says when there is no JSON at all, or JSON of the wrong kind", () => {
    expect(parseAnswer("I cannot help with that.").dropped[0].reason).toBe("no JSON");
    expect(parseAnswer("here: 42").dropped[0].reason).toBe("no JSON");
    expect(parseAnswer('{"poem": {"line": 1}}').dropped[0].reason).toBe("invalid item");
    // Where the structured list was asked for, another shape is not read as a term map.
    expect(parseAnswer('{"poem": "roses are red"}', "anchors")).toMatchObject({ proposals: [], dropped: [{ reason: "not an anchor list" }] });
    expect(parseAnswer('```json\n{"anchors": [{"term": "A", "translations": ["b"], "category": "place"},]}\n```', "anchors").proposals).toHaveLength(1);
  });

  it("380 answers of 15 pairs, 5 cut off mid-object: every complete pair is kept", () => {
    let expected = 0;
    let kept = 0;
    let cut = 0;
    for (let r = 0; r < 380; r++) {
      const entries = Array.from({ length: 15 }, (_, k) => `    "Term${r}x${k}": "Generic ${k}",`);
      let text = `translations = {\n${entries.join("\n")}\n}`;
      expected += 15;
      if (r % 76 === 3) {
        // Cut in the middle of the 9th pair's value: 8 complete pairs remain.
        text = text.slice(0, text.indexOf(`Term${r}x8": "Gen`) + 14);
        expected -= 7;
        cut++;
      }
      const parsed = parseAnswer(text);
      kept += parsed.proposals.length;
      if (parsed.truncated) expect(parsed.dropped).toHaveLength(1);
    }
    expect(cut).toBe(5);
    expect(kept).toBe(expected);
    expect(kept).toBe(375 * 15 + 5 * 8);
  });

  it("property: any prefix of a valid answer yields a prefix of its pairs", () => {
    const full = '{"anchors":[{"term":"A","translations":["a1","a2"],"category":"person"},{"term":"B","translations":["b"],"category":"place"},{"term":"C","translations":["c"],"category":"object"}]}';
    const all = parseAnswer(full).proposals;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: full.length }), (n) => {
        const got = parseAnswer(full.slice(0, n)).proposals;
        expect(got).toEqual(all.slice(0, got.length));
      }),
    );
  });
});
