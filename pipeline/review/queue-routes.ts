/**
 * The review server's routes for the queue tabs (the server checks token, Host and Origin first):
 *   GET  /api/queues                         each queue: title, file, whether it exists, next step
 *   GET  /api/queues/<kind>                  the same for one queue, with its rows when it exists
 *   POST /api/queues/<kind>/edit {edits}     200, or 409 with the conflicts (the others are applied)
 * Each queue file is read fresh per request and written through its own CsvFile queue (atomic,
 * serialised), as the dictionary is.
 */
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { fileExists } from "../io/artifacts.js";
import { CsvFile } from "./csv-file.js";
import { applyQueueEdits, listQueue, type QueueEdit } from "./queue-edits.js";
import { isQueueKind, QUEUE_KINDS, QUEUES, type QueueKind } from "./queues.js";
import { ReviewRequestError } from "./store.js";
import { VERDICTS } from "../labels-review/review-file.js";

export interface Answer {
  status: number;
  body: unknown;
}

/** Returns the handler; it answers undefined for a path that is not a queue route. */
export function queueRoutes(runDir: string | undefined, readBody: (req: IncomingMessage) => Promise<unknown>) {
  const files = new Map<QueueKind, CsvFile>();
  const pathOf = (kind: QueueKind) => (runDir === undefined ? undefined : join(runDir, QUEUES[kind].relPath));
  const csvOf = (kind: QueueKind, path: string) => files.get(kind) ?? files.set(kind, new CsvFile(path)).get(kind)!;

  async function describe(kind: QueueKind) {
    const file = pathOf(kind);
    const q = QUEUES[kind];
    return {
      kind,
      title: q.title,
      file: file ?? q.relPath,
      exists: file !== undefined && (await fileExists(file)),
      writtenBy: q.writtenBy,
      nextStep: q.nextStep(file ?? q.relPath),
      ...(kind === "labels" ? { verdicts: VERDICTS } : { scores: [0, 1, 2, 3] }),
    };
  }

  return async function handle(req: IncomingMessage, url: URL): Promise<Answer | undefined> {
    const m = url.pathname.match(/^\/api\/queues(?:\/([^/]+)(\/edit)?)?$/);
    if (!m) return undefined;
    if (m[1] === undefined) {
      if (req.method !== "GET") return undefined;
      return { status: 200, body: { queues: await Promise.all(QUEUE_KINDS.map(describe)) } };
    }
    if (!isQueueKind(m[1])) return { status: 404, body: { error: `no queue "${m[1]}"; known: ${QUEUE_KINDS.join(", ")}` } };
    const kind = m[1];
    const info = await describe(kind);
    if (req.method === "GET" && !m[2]) {
      if (!info.exists) return { status: 200, body: { ...info, rows: [] } };
      return { status: 200, body: { ...info, ...listQueue(kind, await csvOf(kind, info.file).snapshot(), info.file) } };
    }
    if (req.method === "POST" && m[2]) {
      if (!info.exists) throw new ReviewRequestError(404, `${info.file} does not exist; write it with \`${info.writtenBy}\``);
      const body = (await readBody(req)) as { edits?: QueueEdit[] };
      if (!Array.isArray(body?.edits)) throw new ReviewRequestError(400, "expected {edits: [...]}");
      const out = await csvOf(kind, info.file).update((text) => {
        const r = applyQueueEdits(kind, text, info.file, body.edits as QueueEdit[]);
        return { text: r.text, result: { ...r, ...listQueue(kind, r.text ?? text, info.file) } };
      });
      return { status: out.conflicts.length ? 409 : 200, body: { ...info, ...out } };
    }
    return undefined;
  };
}
