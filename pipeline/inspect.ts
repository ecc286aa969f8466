/** `whp inspect`: one block's original text, translated text and labels, decoded side by side. */
import { fileExists, readJsonl } from "./io/artifacts.js";
import { UserError } from "./core/errors.js";
import type { StageContext } from "./stage.js";
import { labelRowSchema } from "./schemas/labels.js";
import { readArtifact } from "./schemas/registry.js";
import { blockSchema } from "./schemas/blocks.js";
import { alignedSchema } from "./schemas/aligned.js";

async function findRow<T extends { id: string }>(iter: AsyncIterable<T>, id: string): Promise<T | undefined> {
  for await (const row of iter) if (row.id === id) return row;
  return undefined;
}

export async function describeBlock(ctx: StageContext, blockId: string, maxRows: number): Promise<string> {
  for (const name of ["blocks", "aligned", "labels"] as const) {
    if (!(await fileExists(ctx.path(name)))) throw new UserError(`${ctx.path(name)} does not exist yet: inspect reads a finished run`, "run `whp run` first");
  }
  const block = await findRow(readJsonl(ctx.path("blocks"), blockSchema), blockId);
  if (!block) throw new UserError(`no block "${blockId}" in ${ctx.path("blocks")}`, "block ids look like <document>#<index>; see blocks.jsonl");
  const aligned = await findRow(readJsonl(ctx.path("aligned"), alignedSchema), blockId);
  const labels = await findRow(readJsonl(ctx.path("labels"), labelRowSchema), blockId);
  if (!aligned || !labels) throw new UserError(`block "${blockId}" has no labels yet`, "run `whp run` first");
  const meta = await readArtifact(ctx, "labelsMeta");
  const tok = await ctx.tokenizer();
  const show = (id: number) => (id < 0 ? "(masked)" : JSON.stringify(tok.tokenText(id)));

  const out: string[] = [];
  out.push(`block ${blockId}: ${block.input_ids.length} tokens, ${aligned.occurrences.length} anchor occurrence(s)`);
  for (const o of aligned.occurrences.slice(0, 12)) out.push(`  "${o.term}" -> "${o.translation}" (tokens ${o.first}..${o.last})`);
  // maxRows positions: position t shows token t and its next token t+1, so one token more is read.
  const limit = Math.min(maxRows + 1, block.input_ids.length);
  out.push("", "original text:", `  ${await tok.decode(block.input_ids.slice(0, limit))}`);
  const tEnd = limit > 0 && aligned.map[limit - 1] >= 0 ? aligned.map[limit - 1] + 1 : aligned.translated_ids.length;
  out.push("", "translated text:", `  ${await tok.decode(aligned.translated_ids.slice(0, Math.min(tEnd, aligned.translated_ids.length)))}`);
  out.push("", `labels (alpha ${meta.alphas[0]}): at each token, the original next token and the generic label the model is trained on`);
  out.push(`  ${"pos".padStart(4)}  ${"token".padEnd(18)} ${"original next".padEnd(18)} ${"generic label".padEnd(18)}`);
  for (let t = 0; t + 1 < limit; t++) {
    const label = labels.labels[0][t + 1];
    const next = block.input_ids[t + 1];
    const mark = label < 0 ? "" : label !== next ? "  <- changed" : "";
    out.push(`  ${String(t).padStart(4)}  ${show(block.input_ids[t]).padEnd(18)} ${show(next).padEnd(18)} ${show(label).padEnd(18)}${mark}`);
  }
  return `${out.join("\n")}\n`;
}
