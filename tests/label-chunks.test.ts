/**
 * checkBuiltLabelChunkRow (schemas/label-chunks.ts), the labels stage's check of the rows it has just
 * built, gives labelChunkRowSchema's verdict on every row: a good row passes both, and each way of
 * breaking one (a field of each kind, each bound, the lengths) is refused by both.
 */
import { describe, expect, it } from "vitest";
import { checkBuiltLabelChunkRow, type LabelChunkRow, labelChunkRowSchema } from "../pipeline/schemas/label-chunks.js";

const good = (): LabelChunkRow => ({
  id: "b7",
  labels: [
    [-100, 5, 9, 0],
    [-100, 5, 8, 0],
  ],
  uncertified: [2],
  uncertainty: { version: 1, id: "b7", positions: [1, 2, 3], labels: [5, 9, 0], prob: [0.5, null, 1], margin: [0.25, null, -3], runnerUps: [[1, 2, 3], [], [0]] },
});

type Breaker = [string, (r: LabelChunkRow & Record<string, unknown>) => void];
const u = (r: LabelChunkRow) => r.uncertainty as unknown as Record<string, unknown[] | unknown>;
const breakers: Breaker[] = [
  ["id not a string", (r) => (r.id = 7 as unknown as string)],
  ["labels not an array", (r) => (r.labels = {} as unknown as number[][])],
  ["an alpha's labels not an array", (r) => (r.labels[1] = 3 as unknown as number[])],
  ["a fractional label", (r) => (r.labels[1][2] = 8.5)],
  ["an unsafe integer label", (r) => (r.labels[0][1] = 2 ** 60)],
  ["a NaN label", (r) => (r.labels[0][1] = NaN)],
  ["a label as a string", (r) => (r.labels[0][1] = "5" as unknown as number)],
  ["uncertified fractional", (r) => (r.uncertified[0] = 1.5)],
  ["uncertified missing", (r) => delete (r as Record<string, unknown>).uncertified],
  ["uncertainty missing", (r) => delete (r as Record<string, unknown>).uncertainty],
  ["uncertainty null", (r) => ((r as Record<string, unknown>).uncertainty = null)],
  ["another uncertainty version", (r) => (u(r).version = 2)],
  ["uncertainty id missing", (r) => delete u(r).id],
  ["position 0", (r) => ((u(r).positions as number[])[0] = 0)],
  ["a negative uncertainty label", (r) => ((u(r).labels as number[])[1] = -1)],
  ["prob above 1", (r) => ((u(r).prob as number[])[0] = 1.01)],
  ["prob below 0", (r) => ((u(r).prob as number[])[0] = -0.01)],
  ["prob NaN", (r) => ((u(r).prob as number[])[0] = NaN)],
  ["margin Infinity", (r) => ((u(r).margin as number[])[0] = Infinity)],
  ["margin NaN", (r) => ((u(r).margin as number[])[0] = NaN)],
  ["margin a string", (r) => ((u(r).margin as unknown[])[0] = "0.1")],
  ["four runner-ups", (r) => ((u(r).runnerUps as number[][])[0] = [1, 2, 3, 4])],
  ["a negative runner-up", (r) => ((u(r).runnerUps as number[][])[2] = [-1])],
  ["runner-ups not arrays", (r) => ((u(r).runnerUps as unknown[])[1] = 4)],
  ["prob shorter than positions", (r) => (u(r).prob as unknown[]).pop()],
  ["runnerUps longer than positions", (r) => (u(r).runnerUps as unknown[]).push([])],
  ["positions not an array", (r) => (u(r).positions = "1,2,3")],
];

describe("the labels stage's check of the rows it built", () => {
  it("passes a good row, as the schema does", () => {
    expect(labelChunkRowSchema.safeParse(good()).success).toBe(true);
    expect(checkBuiltLabelChunkRow(good())).toBeUndefined();
  });

  it.each(breakers)("refuses %s, as the schema does", (_name, breakIt) => {
    const row = good() as LabelChunkRow & Record<string, unknown>;
    breakIt(row);
    expect(labelChunkRowSchema.safeParse(row).success).toBe(false);
    expect(checkBuiltLabelChunkRow(row)).toMatch(/expected|same length/);
  });

  it("names the field and the element", () => {
    const row = good();
    (row.uncertainty.prob as (number | null)[])[1] = 2;
    expect(checkBuiltLabelChunkRow(row)).toBe("uncertainty.prob[1]: expected a number in [0, 1] or null");
  });
});
