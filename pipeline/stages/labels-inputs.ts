/** The labels stage's inputs as streams: blocks.jsonl and aligned.jsonl paired row by row (the items
 * the chunked executor cuts into chunks), and a few blocks picked by row for the servers' check. */
import { UserError } from "../core/errors.js";
import { fileExists, fileLines, jsonlValues } from "../io/artifacts.js";
import { sizeAndMtime } from "../io/file-stamps.js";
import { isAlignedRow, isBlockRow } from "./labels-input-check.js";
import type { StageContext } from "../stage.js";
import type { AlignedBlock } from "../schemas/aligned.js";
import { type Block, blockSchema } from "../schemas/blocks.js";

/** One item of the stage: a block and its aligned row. */
export interface LabelItem {
  block: Block;
  aligned: AlignedBlock;
}

type Streams = { blocks: AsyncGenerator<Block>; aligned: AsyncGenerator<AlignedBlock> };

/**
 * An input's rows, each valid for its schema: a row the quick check passes (labels-input-check.ts:
 * never laxer than the schema) is yielded as parsed; from the first row it refuses (or a line that
 * is not JSON, or a missing file) the registry's validated stream takes over at that row, so the
 * schema decides and its errors are the registry's own, word for word.
 */
export async function* checkedRows<N extends "blocks" | "aligned">(ctx: StageContext, name: N, quick: (row: unknown) => boolean): AsyncGenerator<N extends "blocks" ? Block : AlignedBlock> {
  type Row = N extends "blocks" ? Block : AlignedBlock;
  let passed = 0;
  if (await fileExists(ctx.path(name))) {
    let refused = false;
    for await (const text of fileLines(ctx.path(name))) {
      if (text.trim() === "") continue;
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        refused = true;
        break;
      }
      if (!quick(raw)) {
        refused = true;
        break;
      }
      passed++;
      yield raw as Row;
    }
    if (!refused) return;
  }
  let skip = passed;
  for await (const row of ctx.stream(name)) if (skip-- <= 0) yield row as Row;
}

/** blocks.jsonl and aligned.jsonl read together, row by row, their ids checked to pair up; every row
 * valid for its schema (checkedRows) unless `rows` gives other streams of them. */
export async function* blocksWithAligned(ctx: StageContext, rows: Streams = { blocks: checkedRows(ctx, "blocks", isBlockRow), aligned: checkedRows(ctx, "aligned", isAlignedRow) }): AsyncGenerator<LabelItem> {
  const aligned = rows.aligned;
  const mismatch = (row: number, what: string) => new UserError(`aligned.jsonl does not match blocks.jsonl (row ${row}: ${what})`, "re-run `whp translate`");
  try {
    let n = 0;
    for await (const block of rows.blocks) {
      n++;
      const a = await aligned.next();
      if (a.done) throw mismatch(n, `block ${block.id} has no aligned row`);
      if (a.value.id !== block.id) throw mismatch(n, `block ${block.id}, aligned ${a.value.id}`);
      yield { block, aligned: a.value };
    }
    const extra = await aligned.next();
    if (!extra.done) throw mismatch(n + 1, `aligned ${extra.value.id} has no block`);
  } finally {
    await aligned.return(undefined);
  }
}

/** Size and mtime of both inputs, as one string to compare. */
async function stampOf(ctx: StageContext): Promise<string> {
  const [b, a] = await Promise.all([sizeAndMtime(ctx.path("blocks")), sizeAndMtime(ctx.path("aligned"))]);
  return `${b}|${a}`;
}

async function* parsedOnly<T>(path: string): AsyncGenerator<T> {
  for await (const { raw } of jsonlValues(path, (n) => `${path} line ${n}`)) yield raw as T;
}

/**
 * The stage's items for the chunked executor, which reads them twice (survey, then work). A pass
 * validates every row (blocksWithAligned) unless an earlier pass validated both files whole and
 * they are unchanged since (size and mtime, taken before that pass and again after it, as the
 * executor's resume trusts a surveyed chunk): then the rows are only JSON.parse'd. The second
 * validated read of the corpus cost ~0.5 µs per position of the served stage's CPU.
 */
export function labelItems(ctx: StageContext): () => AsyncGenerator<LabelItem> {
  let validated: string | undefined;
  return async function* pass() {
    const before = await stampOf(ctx);
    if (validated === before) {
      yield* blocksWithAligned(ctx, { blocks: parsedOnly<Block>(ctx.path("blocks")), aligned: parsedOnly<AlignedBlock>(ctx.path("aligned")) });
      return;
    }
    yield* blocksWithAligned(ctx);
    // Reached only when the pass read both files to their end (the executor's survey does).
    if ((await stampOf(ctx)) === before) validated = before;
  };
}

/** The input ids of blocks.jsonl's rows at `rows` (0-based), parsing only those lines: the survey has
 * validated every row already, and this pass must not cost a third validated read of the corpus. */
export async function blockIdsAt(ctx: StageContext, rows: readonly number[]): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  const last = Math.max(-1, ...rows);
  let i = 0;
  for await (const line of fileLines(ctx.path("blocks"))) {
    if (!line.trim()) continue;
    if (rows.includes(i)) out.set(i, blockSchema.parse(JSON.parse(line)).input_ids);
    if (++i > last) break;
  }
  return out;
}
