/**
 * stages/labels-lines.ts: the labels and uncertainty lines cut from a chunk line this run wrote are
 * byte for byte JSON.stringify of the parsed row's parts (the old way), whatever the id holds
 * (quotes, escapes, braces, the split key itself, non-ASCII); any other row gets no lines.
 */
import { describe, expect, it } from "vitest";
import type { LabelChunkRow } from "../pipeline/schemas/label-chunks.js";
import { outputLinesOf, readWrittenChunkLine } from "../pipeline/stages/labels-lines.js";

const row = (id: string): LabelChunkRow => ({
  id,
  labels: [
    [-100, 5, 9, 0],
    [-100, 5, 8, 1e21],
  ],
  uncertified: [2],
  uncertainty: { version: 1, id, positions: [1, 2, 3], labels: [5, 9, 0], prob: [0.123457, null, 1], margin: [1.79769e308, null, -3e-7], runnerUps: [[1, 2, 3], [], [0]] },
});

const oldWay = (r: LabelChunkRow) => {
  const { uncertainty: u, ...rest } = r;
  return { labels: `${JSON.stringify(rest)}\n`, uncertainty: `${JSON.stringify(u)}\n` };
};

describe("output lines from chunk lines", () => {
  it.each(["b7", 'a "quoted" id', 'x,"uncertainty":{"y":1}', "back\\slash}{", "née 文 \u2028", ""])("match JSON.stringify of the parsed row for id %j", (id) => {
    const parsed = readWrittenChunkLine(JSON.stringify(row(id)));
    expect(parsed).toEqual(row(id));
    expect(outputLinesOf(parsed)).toEqual(oldWay(parsed));
  });

  it("the kept text is invisible to JSON and spreads", () => {
    const parsed = readWrittenChunkLine(JSON.stringify(row("b1")));
    expect(JSON.stringify(parsed)).toBe(JSON.stringify(row("b1")));
    expect(Object.getOwnPropertySymbols({ ...parsed })).toEqual([]);
  });

  it("gives nothing for a row not read from a written chunk line, or in another key order", () => {
    expect(outputLinesOf(JSON.parse(JSON.stringify(row("b1"))))).toBeUndefined();
    const { uncertainty, ...rest } = row("b1");
    expect(outputLinesOf(readWrittenChunkLine(JSON.stringify({ uncertainty, ...rest })))).toBeUndefined();
    expect(outputLinesOf(readWrittenChunkLine(JSON.stringify({ ...rest, uncertainty, extra: 1 })))).toBeUndefined();
  });
});
