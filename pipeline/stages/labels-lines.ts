/**
 * The labels stage's output lines straight from its chunk lines. A chunk line this run wrote is
 * JSON.stringify of {id, labels, uncertified, uncertainty} (in that order), so the labels.jsonl line
 * (the same row without `uncertainty`) and the labels-uncertainty.jsonl line (the `uncertainty`
 * value) are slices of it, byte for byte what JSON.stringify of the parsed row gives: the text is
 * already JSON.stringify's, and `,"uncertainty":` cannot occur inside a JSON string (its quote would
 * be escaped) nor in the number arrays before it. Serialising both lines again cost ~0.1-0.2 µs per
 * position of the served stage's CPU. Any other row (a leftover, a reviewed row) is stringified.
 */
import type { LabelChunkRow } from "../schemas/label-chunks.js";

const TEXT = Symbol("the chunk line the row was parsed from");
const SPLIT = ',"uncertainty":';
const ORDER = ["id", "labels", "uncertified", "uncertainty"];

type WithText = LabelChunkRow & { [TEXT]?: string };

/** A line of a chunk this run wrote, parsed, its text kept (not enumerable: JSON and spreads miss it). */
export function readWrittenChunkLine(line: string): LabelChunkRow {
  const row = JSON.parse(line) as WithText;
  Object.defineProperty(row, TEXT, { value: line });
  return row;
}

/** The two output lines (each with its newline) of a row read by readWrittenChunkLine, or undefined
 * for any other row, or one whose keys are not the written order. */
export function outputLinesOf(row: LabelChunkRow): { labels: string; uncertainty: string } | undefined {
  const text = (row as WithText)[TEXT];
  if (text === undefined) return undefined;
  const keys = Object.keys(row);
  if (keys.length !== ORDER.length || keys.some((k, i) => k !== ORDER[i])) return undefined;
  const at = text.indexOf(SPLIT);
  if (at < 0 || !text.endsWith("}")) return undefined;
  return { labels: `${text.slice(0, at)}}\n`, uncertainty: `${text.slice(at + SPLIT.length, -1)}\n` };
}
