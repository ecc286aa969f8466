/** The review server's queue routes over real HTTP, on a small run whose queues the CLI wrote: who is
 * refused, listing, edits on disk, 409 for a stale edit, and edits surviving a re-run of the queue. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReviewServer, type ReviewServer } from "../pipeline/review/server.js";
import { whpCli } from "./helpers/capture.js";
import { makeQueueRun, type QueueRun } from "./helpers/review-queues.js";
import { rawRequest } from "./helpers/raw-http.js";

const call = (srv: ReviewServer, path: string, opts?: Parameters<typeof rawRequest>[2]) => rawRequest(srv.port, path, opts);

const TOKEN = "queue-token-0123456789";
let run: QueueRun;
let server: ReviewServer;
let empty: ReviewServer;
let emptyDir: string;

const auth = { "x-whp-token": TOKEN };
type Row = Record<string, unknown> & { key: string; version: string };
const listing = async (kind: string) => JSON.parse((await call(server, `/api/queues/${kind}`, { headers: auth })).body) as { exists: boolean; rows: Row[]; nextStep: string; file: string };
const edit = (kind: string, edits: unknown[], headers: Record<string, string> = auth) => call(server, `/api/queues/${kind}/edit`, { method: "POST", headers, body: { edits } });
const csv = async (file: string) => parse(await readFile(file, "utf8"), { columns: true }) as Record<string, string>[];

beforeAll(async () => {
  run = await makeQueueRun();
  server = await startReviewServer({ csvPath: join(run.dir, "anchors.csv"), docs: [], freq: new Map(), token: TOKEN, runDir: run.runDir });
  emptyDir = await mkdtemp(join(tmpdir(), "whp-queues-empty-"));
  empty = await startReviewServer({ csvPath: join(run.dir, "anchors.csv"), docs: [], freq: new Map(), token: TOKEN, runDir: emptyDir });
}, 30_000);
afterAll(async () => {
  await server?.close();
  await empty?.close();
  for (const d of [run?.dir, emptyDir]) if (d) await rm(d, { recursive: true, force: true });
});

describe("queue routes", () => {
  it("refuse a request without the token, from another origin or another Host", async () => {
    expect((await call(server, "/api/queues/labels")).status).toBe(403);
    expect((await edit("labels", [])).status).toBe(200);
    expect((await edit("labels", [], { "x-whp-token": "wrong" })).status).toBe(403);
    expect((await call(server, "/api/queues", { headers: { ...auth, origin: "http://evil.example" } })).status).toBe(403);
    expect((await call(server, "/api/queues", { headers: { ...auth, host: "evil.example" } })).status).toBe(403);
    const js = await call(server, "/review-queues.js", { headers: { cookie: `whp_review_${server.port}=${TOKEN}` } });
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toMatch(/javascript/);
    expect(js.headers["content-security-policy"]).toMatch(/script-src 'self'/);
  });

  it("say which command writes a queue that does not exist yet", async () => {
    const all = JSON.parse((await call(empty, "/api/queues", { headers: auth })).body);
    expect(all.queues.map((q: { kind: string; exists: boolean; writtenBy: string }) => [q.kind, q.exists, q.writtenBy])).toEqual([["labels", false, "whp review-queue labels"], ["judge", false, "whp review-queue judge"]]);
    const one = await call(empty, "/api/queues/judge/edit", { method: "POST", headers: auth, body: { edits: [] } });
    expect(one.status).toBe(404);
    expect(JSON.parse(one.body).error).toMatch(/does not exist; write it with `whp review-queue judge`/);
    expect((await call(server, "/api/queues/nope", { headers: auth })).status).toBe(404);
    // A file its reader refuses (a hand edit) is not shown or edited: the page gets the reader's message.
    await mkdir(join(emptyDir, "review"));
    await writeFile(join(emptyDir, "review", "labels-queue.csv"), "id,block,position,verdict\nb:1,b,1,keep\n");
    const broken = await call(empty, "/api/queues/labels", { headers: auth });
    expect(broken.status).toBe(422);
    expect(JSON.parse(broken.body).error).toMatch(/line 2, column 4 \(verdict\): unknown verdict "keep"/);
  });

  it("list the rows and the next step", async () => {
    const labels = await listing("labels");
    expect(labels).toMatchObject({ exists: true, file: run.labelsFile, nextStep: `whp labels --apply-review ${run.labelsFile} && whp export` });
    expect(labels.rows.length).toBe((await csv(run.labelsFile)).length);
    expect(labels.rows[0].original).toMatch(/\[\[.*\]\]/);
    const judge = await listing("judge");
    expect(judge.rows).toHaveLength(6);
    expect(judge.nextStep).toBe(`whp eval --audit ${run.judgeFile}`);
  });

  it("save an edit to that row only, refuse a stale one (409) and a bad value (400); a re-run of the queue keeps the edits", async () => {
    const beforeLabels = await readFile(run.labelsFile, "utf8");
    const [l0, l1] = (await listing("labels")).rows;
    const runner = (l1.runnerUps as string[])[0];
    expect(runner).toBeDefined();
    const ok = await edit("labels", [
      { key: l0.key, base: l0.version, changes: { verdict: "mask", notes: "punctuation" } },
      { key: l1.key, base: l1.version, changes: { verdict: "replace", replacement: runner } },
    ]);
    expect(ok.status, ok.body).toBe(200);
    const lines = (await readFile(run.labelsFile, "utf8")).split("\n");
    const old = beforeLabels.split("\n");
    expect(lines.filter((l, i) => l !== old[i]).length).toBe(2);
    expect(lines.slice(3)).toEqual(old.slice(3));

    const stale = await edit("labels", [{ key: l0.key, base: l0.version, changes: { verdict: "accept" } }]);
    expect(stale.status).toBe(409);
    expect(JSON.parse(stale.body).conflicts[0]).toMatchObject({ key: l0.key, current: { verdict: "mask", notes: "punctuation" } });
    const fresh = (await listing("labels")).rows[0];
    const bad = await edit("labels", [{ key: fresh.key, base: fresh.version, changes: { verdict: "replace", replacement: "" } }]);
    expect(bad.status).toBe(400);
    expect((await call(server, "/api/queues/labels/edit", { method: "POST", headers: { ...auth, "content-type": "text/plain" } })).status).toBe(400);

    const [j0] = (await listing("judge")).rows;
    expect((await edit("judge", [{ key: j0.key, base: j0.version, changes: { human_score: "2", notes: "hedges" } }])).status).toBe(200);
    expect((await edit("judge", [{ key: j0.key, base: j0.version, changes: { human_score: "1" } }])).status).toBe(409);
    expect((await edit("judge", [{ key: j0.key, base: (await listing("judge")).rows[0].version, changes: { human_score: "7" } }])).status).toBe(400);

    // The queue commands again: every edit made through the page is still there.
    for (const kind of ["labels", "judge"]) {
      const r = await whpCli(run.configPath, "review-queue", kind, ...(kind === "judge" ? ["--size", "6"] : []));
      expect(r.code, r.err).toBe(0);
    }
    const labels = await csv(run.labelsFile);
    expect(labels.find((r) => r.id === l0.key)).toMatchObject({ verdict: "mask", notes: "punctuation" });
    expect(labels.find((r) => r.id === l1.key)).toMatchObject({ verdict: "replace", replacement: runner.replace(/^([=+\-@])/, "'$1") });
    const audit = await csv(run.judgeFile);
    expect(audit.find((r) => r.model === j0.model && r.id === j0.id)).toMatchObject({ human_score: "2", notes: "hedges" });
  }, 20_000);
});
