/**
 * From a reviewed queue CSV to the verdicts the labels stage applies (labels-review.json): checks every
 * filled-in row against the run (block, position) and resolves replacement text to one token id.
 * All problems are reported at once, each with its line.
 */
import { UserError } from "../core/errors.js";
import { unsafeCell } from "../core/csv-table.js";
import { type ExistingQueue, verdictOf } from "./csv.js";
import type { ReviewVerdict } from "./review-file.js";

/** What the run's tokenizer makes of a replacement: the single token id, or how many tokens it is. */
export type TokenResolution = { id: number } | { count: number; pieces: string[] };

export async function verdictsFromQueue(
  queue: ExistingQueue,
  file: string,
  blocks: ReadonlyMap<string, { index: number; length: number }>,
  resolve: (text: string) => Promise<TokenResolution>,
): Promise<ReviewVerdict[]> {
  const problems: string[] = [];
  const out: (ReviewVerdict & { order: number })[] = [];
  const seen = new Map<string, number>();
  for (const { line, cells } of queue.rows) {
    const verdict = verdictOf(cells);
    if (!verdict) continue;
    const block = unsafeCell(cells.block.trim());
    const position = Number(cells.position);
    const info = blocks.get(block);
    if (!info) {
      problems.push(`line ${line}: no block "${block}" in this run`);
      continue;
    }
    if (!Number.isInteger(position) || position < 1 || position >= info.length) {
      problems.push(`line ${line}: position "${cells.position}" is not a label position of block "${block}" (1 to ${info.length - 1})`);
      continue;
    }
    const key = `${block}:${position}`;
    if (seen.has(key)) {
      problems.push(`line ${line}: a second verdict for ${key} (first on line ${seen.get(key)})`);
      continue;
    }
    seen.set(key, line);
    const v: ReviewVerdict & { order: number } = { block, position, verdict, order: info.index };
    if (verdict === "replace") {
      const text = unsafeCell(cells.replacement ?? "");
      if (text === "") {
        problems.push(`line ${line}: verdict "replace" needs the replacement token in the replacement column`);
        continue;
      }
      const r = await resolve(text);
      if (!("id" in r)) {
        problems.push(`line ${line}: replacement ${JSON.stringify(text)} is ${r.count} tokens with the run's tokenizer (${r.pieces.map((p) => JSON.stringify(p)).join(" ")}), and must be exactly one`);
        continue;
      }
      v.token = r.id;
      v.text = text;
    }
    out.push(v);
  }
  if (problems.length) {
    const shown = problems.slice(0, 20).join("\n  ");
    throw new UserError(`${file}: ${problems.length} verdict(s) cannot be applied:\n  ${shown}${problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : ""}`, "fix those rows (a replacement is one token: copy one from the label or runner_ups column, or write a word the tokenizer keeps whole) and apply again; nothing was changed");
  }
  out.sort((a, b) => a.order - b.order || a.position - b.position);
  return out.map(({ order: _order, ...v }) => v);
}
