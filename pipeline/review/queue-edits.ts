/**
 * Edits to a queue CSV from the review page, as pure text -> text functions, with the dictionary
 * tab's rules (store.ts): an edit names the version of the row it was made on, a row changed on disk
 * since is refused as a conflict with its current view, a bad value refuses the whole batch (400),
 * and only the edited rows' bytes change.
 */
import { writeTable, type QueueTable } from "../core/csv-table.js";
import { checkedTable, editCells, mustPass, QUEUES, rowView, type QueueKind, type QueueRowView } from "./queues.js";
import { rowVersion } from "./rows.js";
import { ReviewRequestError } from "./store.js";

export interface QueueEdit {
  /** The row's key as the listing gave it (labels: id; judge: model + id). */
  key: string;
  base: string;
  changes: Record<string, unknown>;
}

export interface QueueConflict {
  key: string;
  message: string;
  current?: QueueRowView;
}

export interface QueueListing {
  rows: QueueRowView[];
}

/** The rows the page shows; throws UserError when the queue's reader refuses the file. */
export function listQueue(kind: QueueKind, text: string, file: string): QueueListing {
  const t = checkedTable(kind, text, file);
  return { rows: t.rows.map((r) => rowView(kind, t, r)) };
}

function findRow(kind: QueueKind, t: QueueTable, key: string): number[] {
  return t.rows.flatMap((r, i) => (QUEUES[kind].keyOf(r.cells) === key ? [i] : []));
}

/** Applies every edit whose base is current; `text` is undefined when nothing changed. */
export function applyQueueEdits(kind: QueueKind, text: string, file: string, edits: readonly QueueEdit[]): { text?: string; applied: string[]; conflicts: QueueConflict[] } {
  const t = checkedTable(kind, text, file);
  const changed = new Map<number, Record<string, string>>();
  const applied: string[] = [];
  const conflicts: QueueConflict[] = [];
  for (const edit of edits) {
    if (typeof edit?.key !== "string" || typeof edit.base !== "string" || typeof edit.changes !== "object" || edit.changes === null) throw new ReviewRequestError(400, "each edit is {key, base, changes}");
    const noColumn = Object.keys(edit.changes).filter((k) => QUEUES[kind].editable.includes(k) && !t.keys.includes(k));
    if (noColumn.length) throw new ReviewRequestError(400, `${file} has no column ${noColumn.join(", ")}; add it to the header row (as \`${QUEUES[kind].writtenBy}\` writes it)`);
    // The reader refuses repeated keys, so a key finds at most one row.
    const [i] = findRow(kind, t, edit.key);
    if (i === undefined) {
      conflicts.push({ key: edit.key, message: `row ${edit.key} is no longer in ${file} (the queue was re-written?); reload the page` });
      continue;
    }
    if (rowVersion(t.keys, t.rows[i].cells) !== edit.base || changed.has(i)) {
      conflicts.push({ key: edit.key, message: `row ${edit.key} changed on disk since this page read it (another tab or a hand edit); it was reloaded, redo the change if it is still needed`, current: rowView(kind, t, t.rows[i]) });
      continue;
    }
    changed.set(i, editCells(kind, t.rows[i].cells, edit.changes));
    applied.push(edit.key);
  }
  const same = [...changed].every(([i, c]) => t.keys.every((k) => (c[k] ?? "") === (t.rows[i].cells[k] ?? "")));
  if (changed.size === 0 || same) return { applied, conflicts };
  const next = writeTable(t, changed);
  mustPass(kind, next, file);
  return { text: next, applied, conflicts };
}
