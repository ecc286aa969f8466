/** The labels stage's inputs as streams: blocks.jsonl and aligned.jsonl paired row by row (the items
 * the chunked executor cuts into chunks), and a few blocks picked by row for the servers' check. */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { UserError } from "../core/errors.js";
import type { StageContext } from "../stage.js";
import type { AlignedBlock } from "../schemas/aligned.js";
import { type Block, blockSchema } from "../schemas/blocks.js";

/** One item of the stage: a block and its aligned row. */
export interface LabelItem {
  block: Block;
  aligned: AlignedBlock;
}

/** blocks.jsonl and aligned.jsonl read together, row by row, their ids checked to pair up. */
export async function* blocksWithAligned(ctx: StageContext): AsyncGenerator<LabelItem> {
  const aligned = ctx.stream("aligned");
  const mismatch = (row: number, what: string) => new UserError(`aligned.jsonl does not match blocks.jsonl (row ${row}: ${what})`, "re-run `whp translate`");
  try {
    let n = 0;
    for await (const block of ctx.stream("blocks")) {
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

/** The input ids of blocks.jsonl's rows at `rows` (0-based), parsing only those lines: the survey has
 * validated every row already, and this pass must not cost a third validated read of the corpus. */
export async function blockIdsAt(ctx: StageContext, rows: readonly number[]): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  const last = Math.max(-1, ...rows);
  const lines = createInterface({ input: createReadStream(ctx.path("blocks")), crlfDelay: Infinity });
  let i = 0;
  for await (const line of lines) {
    if (!line.trim()) continue;
    if (rows.includes(i)) out.set(i, blockSchema.parse(JSON.parse(line)).input_ids);
    if (++i > last) break;
  }
  lines.close();
  return out;
}
