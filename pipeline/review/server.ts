/**
 * The review page's local server: node:http on 127.0.0.1 only, a random port, a per-run token
 * (security.ts), static files from the package's ui/ folder and a small JSON API over the review CSV:
 *   GET  /api/rows                      every row with counts and flags
 *   GET  /api/concordance?term=&translation=
 *   POST /api/edit   {edits: RowEdit[]} 200, or 409 with the conflicts (the others are applied); the
 *                                       rows whose view changed ({changed, total}), or all rows when rows came or went
 *   POST /api/terms  NewTerm            201, 409 when the term exists, 400 for a bad value
 *   /api/queues/...                     the review queues' tabs (queue-routes.ts)
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { packageRoot } from "../paths.js";
import type { BlockSpan } from "../anchors/corpus-stats.js";
import type { SourceDocument } from "../anchors/sample.js";
import { STATUSES } from "../stages/dictionary.js";
import type { NameLexicon } from "../anchors/plausibility.js";
import { Annotator, FLAG_KINDS, type RowView } from "./annotate.js";
import { CsvFile } from "./csv-file.js";
import { queueRoutes } from "./queue-routes.js";
import { readRows, type StoredRow } from "./rows.js";
import { cookieName, cookieValue, newToken, refuseOrigin, SECURITY_HEADERS, TOKEN_HEADER, tokenMatches } from "./security.js";
import { addTerm, applyEdits, ReviewRequestError, type NewTerm, type RowEdit } from "./store.js";

export interface ReviewServerOptions {
  csvPath: string;
  docs: readonly SourceDocument[];
  blocks?: readonly BlockSpan[];
  freq: ReadonlyMap<string, number>;
  /** First names by gender, for the translation plausibility flags (absent: those flags are off). */
  names?: NameLexicon;
  /** Where review.html/.js/.css are; default <package root>/ui. */
  uiDir?: string;
  /** The run folder, where the review queues' CSVs are (absent: their tabs say there is none). */
  runDir?: string;
  /** Fixed token for tests; default a fresh random one. */
  token?: string;
}

export interface ReviewServer {
  /** The URL to open, token included. */
  url: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

const STATIC: Record<string, { file: string; type: string }> = {
  "/review.js": { file: "review.js", type: "text/javascript; charset=utf-8" },
  "/review.css": { file: "review.css", type: "text/css; charset=utf-8" },
  "/review-queues.js": { file: "review-queues.js", type: "text/javascript; charset=utf-8" },
};
const MAX_BODY = 1 << 20;

interface Listing {
  file: string;
  rows: RowView[];
  flagKinds: typeof FLAG_KINDS;
  statuses: typeof STATUSES;
}

function send(res: ServerResponse, status: number, body: string, type = "application/json; charset=utf-8", extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, ...extra });
  res.end(body);
}
const json = (res: ServerResponse, status: number, value: unknown) => send(res, status, JSON.stringify(value));

async function readBody(req: IncomingMessage): Promise<unknown> {
  // Only JSON: a cross-site HTML form cannot send this content type without a preflight we never grant.
  if (!(req.headers["content-type"] ?? "").startsWith("application/json")) throw new ReviewRequestError(400, "send the body as application/json");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ReviewRequestError(400, "request body too large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new ReviewRequestError(400, "the body is not valid JSON");
  }
}

/** Whether the page would show the two views of a row alike. */
const sameView = (a: RowView, b: RowView) =>
  a.version === b.version && a.line === b.line && a.occurrences === b.occurrences && a.blocks === b.blocks && a.flags.length === b.flags.length && a.flags.every((f, i) => f.kind === b.flags[i].kind && f.message === b.flags[i].message);

/** Rows of `after` that differ from the same row of `before`, or null when rows were added or removed. */
export function changedRows(before: readonly RowView[], after: readonly RowView[]): RowView[] | null {
  if (before.length !== after.length || before.some((r, i) => r.term !== after[i].term)) return null;
  return after.filter((r, i) => !sameView(r, before[i]));
}

export async function startReviewServer(opts: ReviewServerOptions): Promise<ReviewServer> {
  const token = opts.token ?? newToken();
  const uiDir = opts.uiDir ?? join(packageRoot(), "ui");
  const csv = new CsvFile(opts.csvPath);
  const annotator = new Annotator(opts.docs, opts.blocks, opts.freq, opts.names);
  const queues = queueRoutes(opts.runDir, readBody);
  let port = 0;

  // The file parsed once per text: an edit reads the text it was made on, then the one it wrote.
  const parsedCache = new Map<string, ReturnType<typeof readRows>>();
  const remember = (text: string, p: ReturnType<typeof readRows>) => {
    if (parsedCache.size >= 2) parsedCache.delete(parsedCache.keys().next().value as string);
    parsedCache.set(text, p);
    return p;
  };
  const parsed = (text: string) => parsedCache.get(text) ?? remember(text, readRows(text, opts.csvPath));
  const rowsOf = (text: string): StoredRow[] => parsed(text).rows;
  // The last listing, by the file's text: page loads and reloads between edits cost nothing.
  let last: { text: string; listing: Listing } | undefined;
  const listing = (text: string): Listing => {
    if (last?.text !== text) last = { text, listing: { file: opts.csvPath, rows: annotator.annotate(rowsOf(text)), flagKinds: FLAG_KINDS, statuses: STATUSES } };
    return last.listing;
  };

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method === "GET" && url.pathname === "/api/rows") return json(res, 200, listing(await csv.snapshot()));
    if (req.method === "GET" && url.pathname === "/api/concordance") {
      const term = url.searchParams.get("term") ?? "";
      // An empty term would "occur" at every word boundary.
      if (!term.trim()) throw new ReviewRequestError(400, "give ?term=");
      const rows = rowsOf(await csv.snapshot());
      return json(res, 200, { term, ...annotator.concordance(rows, term, url.searchParams.get("translation") || undefined) });
    }
    if (req.method === "POST" && url.pathname === "/api/edit") {
      const body = (await readBody(req)) as { edits?: RowEdit[] };
      if (!Array.isArray(body?.edits)) throw new ReviewRequestError(400, "expected {edits: [...]}");
      const outcome = await csv.update((text) => {
        const before = listing(text);
        const r = applyEdits(text, opts.csvPath, body.edits as RowEdit[], parsed(text));
        if (r.text !== undefined && r.read) remember(r.text, r.read);
        return { text: r.text, result: { ...r, before, after: listing(r.text ?? text) } };
      });
      const conflicts = outcome.conflicts.map((c) => ({ ...c, current: c.current && outcome.after.rows.find((r) => r.term === c.term) }));
      // Only the rows whose view changed (the edited ones, and the ones whose flags it changed): the
      // whole listing of a book-sized dictionary is megabytes. All of it when rows came or went.
      // A conflicting row changed on disk before this edit: the page gets it too.
      const stale = new Set(conflicts.map((c) => c.term));
      const delta = changedRows(outcome.before.rows, outcome.after.rows);
      const changed = delta && [...delta, ...outcome.after.rows.filter((r) => stale.has(r.term) && !delta.includes(r))];
      const rows = changed ? { changed, total: outcome.after.rows.length, file: opts.csvPath } : outcome.after;
      return json(res, conflicts.length ? 409 : 200, { applied: outcome.applied, conflicts, ...rows });
    }
    if (req.method === "POST" && url.pathname === "/api/terms") {
      const body = (await readBody(req)) as NewTerm;
      const l = await csv.update((text) => {
        const next = addTerm(text, opts.csvPath, body);
        return { text: next, result: listing(next) };
      });
      return json(res, 201, l);
    }
    const answer = await queues(req, url);
    if (answer) return json(res, answer.status, answer.body);
    return json(res, 404, { error: `no ${req.method} ${url.pathname}` });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = refuseOrigin({ host: req.headers.host, origin: req.headers.origin }, port);
    if (refused) return send(res, 403, refused, "text/plain; charset=utf-8");
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    const cookie = cookieValue(req.headers.cookie, cookieName(port));
    if (url.pathname.startsWith("/api/")) {
      if (!tokenMatches(req.headers[TOKEN_HEADER] as string | undefined, token)) return json(res, 403, { error: "missing or wrong token" });
      return api(req, res, url);
    }
    if (req.method !== "GET") return send(res, 405, "only GET here", "text/plain; charset=utf-8");
    if (url.pathname === "/" && url.searchParams.has("token")) {
      if (!tokenMatches(url.searchParams.get("token") ?? undefined, token)) return send(res, 403, "wrong token: open the URL that `whp review` printed", "text/plain; charset=utf-8");
      // The token moves into a cookie and out of the address bar (and the browser history).
      return send(res, 303, "", "text/plain; charset=utf-8", { location: "/", "set-cookie": `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/` });
    }
    if (!tokenMatches(cookie, token)) return send(res, 403, "no token: open the URL that `whp review` printed", "text/plain; charset=utf-8");
    if (url.pathname === "/") {
      const html = (await readFile(join(uiDir, "review.html"), "utf8")).replace("__WHP_TOKEN__", token);
      return send(res, 200, html, "text/html; charset=utf-8");
    }
    const asset = STATIC[url.pathname];
    if (asset) return send(res, 200, await readFile(join(uiDir, asset.file), "utf8"), asset.type);
    return send(res, 404, "not found", "text/plain; charset=utf-8");
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof ReviewRequestError) return json(res, e.status, { error: e.message, current: e.current });
      // A hand edit broke the CSV: say what to fix; the page keeps its state and can retry.
      if (e instanceof UserError) return json(res, 422, { error: `${e.message}${e.fix ? `; fix: ${e.fix}` : ""}` });
      json(res, 500, { error: (e as Error).message });
    });
  });
  // Index the corpus and count every term and candidate now, so the first page load does not wait.
  listing(await csv.read());
  // Loopback only, whatever the machine's interfaces: the page edits a file on this disk.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  port = address.port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    host: address.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
