/** The review server over real HTTP: who it refuses, where it listens, and how it writes the CSV. */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../pipeline/cli.js";
import { startReviewServer, type ReviewServer } from "../pipeline/review/server.js";
import { rawRequest } from "./helpers/raw-http.js";

const call = (path: string, opts?: Parameters<typeof rawRequest>[2]) => rawRequest(server.port, path, opts);

const TOKEN = "test-token-0123456789";
const CSV = "term,translations,category,notes,status,extra\nTamsin,Emma|Lucy,person,,pending,x1\nCinderholt,the village,place,,pending,x2\n";
const DOCS = [{ id: "a.txt", text: "Tamsin lived in Cinderholt. Tamsin met Mr. Pike there." }];

let dir: string;
let csvPath: string;
let server: ReviewServer;


const auth = { "x-whp-token": TOKEN };
const rows = async () => JSON.parse((await call("/api/rows", { headers: auth })).body).rows as { term: string; version: string; notes: string; status: string }[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "whp-review-server-"));
  csvPath = join(dir, "anchors.csv");
  await writeFile(csvPath, CSV);
  server = await startReviewServer({ csvPath, docs: DOCS, freq: new Map(), token: TOKEN });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("review server security", () => {
  it("is registered as `whp review <csv>` with the common options", () => {
    const review = buildCli().commands.find((c) => c.name() === "review");
    expect(review?.helpInformation()).toMatch(/review \[options\] <csv>[\s\S]*--config <file>/);
  });


  it("listens on loopback only and prints a URL with the token", () => {
    expect(server.host).toBe("127.0.0.1");
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
  });

  it("refuses API calls without the token, with a wrong one, or with only the cookie", async () => {
    expect((await call("/api/rows")).status).toBe(403);
    expect((await call("/api/rows", { headers: { "x-whp-token": "nope" } })).status).toBe(403);
    expect((await call("/api/rows", { headers: { cookie: `whp_review_${server.port}=${TOKEN}` } })).status).toBe(403);
    expect((await call("/api/edit", { method: "POST", body: { edits: [] } })).status).toBe(403);
    expect((await call("/api/rows", { headers: auth })).status).toBe(200);
  });

  it("refuses pages without the token; the URL's token becomes a cookie", async () => {
    expect((await call("/")).status).toBe(403);
    expect((await call("/review.js")).status).toBe(403);
    expect((await call("/?token=wrong")).status).toBe(403);
    const first = await call(`/?token=${TOKEN}`);
    expect(first.status).toBe(303);
    const cookie = String(first.headers["set-cookie"]).split(";")[0];
    expect(String(first.headers["set-cookie"])).toMatch(/HttpOnly; SameSite=Strict/);
    const page = await call("/", { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.body).toContain(`content="${TOKEN}"`);
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'none'/);
    expect((await call("/review.js", { headers: { cookie } })).status).toBe(200);
  });

  it("refuses a foreign Origin and a foreign Host (DNS rebinding), even with the token", async () => {
    expect((await call("/api/rows", { headers: { ...auth, origin: "http://evil.example" } })).status).toBe(403);
    expect((await call("/api/rows", { headers: { ...auth, origin: "null" } })).status).toBe(403);
    expect((await call("/api/rows", { headers: { ...auth, host: `evil.example:${server.port}` } })).status).toBe(403);
    expect((await call("/api/rows", { headers: { ...auth, host: "127.0.0.1:1" } })).status).toBe(403);
    expect((await call("/api/rows", { headers: { ...auth, origin: `http://127.0.0.1:${server.port}` } })).status).toBe(200);
    expect((await call("/api/rows", { headers: { ...auth, host: `localhost:${server.port}`, origin: `http://localhost:${server.port}` } })).status).toBe(200);
  });

  it("refuses a body that is not JSON", async () => {
    const r = await call("/api/edit", { method: "POST", headers: { ...auth, "content-type": "text/plain" }, body: { edits: [] } });
    expect(r.status).toBe(400);
  });
});

describe("review server writes", () => {
  it("saves edits at once; a stale write gets 409 with the current row; other rows still save", async () => {
    const before = await rows();
    const tamsin = before.find((r) => r.term === "Tamsin")!;
    const tab1 = await call("/api/edit", { method: "POST", headers: auth, body: { edits: [{ term: "Tamsin", base: tamsin.version, changes: { notes: "tab 1", status: "approved" } }] } });
    expect(tab1.status).toBe(200);
    expect(await readFile(csvPath, "utf8")).toBe(CSV.replace("Tamsin,Emma|Lucy,person,,pending,x1", "Tamsin,Emma|Lucy,person,tab 1,approved,x1"));

    const tab2 = await call("/api/edit", { method: "POST", headers: auth, body: { edits: [{ term: "Tamsin", base: tamsin.version, changes: { notes: "tab 2" } }] } });
    expect(tab2.status).toBe(409);
    const answer = JSON.parse(tab2.body);
    expect(answer.conflicts[0].current.notes).toBe("tab 1");
    expect(await readFile(csvPath, "utf8")).toContain("tab 1,approved,x1");

    const cinder = before.find((r) => r.term === "Cinderholt")!;
    const other = await call("/api/edit", { method: "POST", headers: auth, body: { edits: [{ term: "Cinderholt", base: cinder.version, changes: { status: "rejected" } }] } });
    expect(other.status).toBe(200);
    const disk = await readFile(csvPath, "utf8");
    expect(disk).toContain("Tamsin,Emma|Lucy,person,tab 1,approved,x1\n");
    expect(disk).toContain("Cinderholt,the village,place,,rejected,x2\n");
  });

  it("serialises concurrent edits: a burst on different rows all lands, one per row on the same row", async () => {
    const current = await rows();
    const send = (term: string, notes: string) =>
      call("/api/edit", { method: "POST", headers: auth, body: { edits: [{ term, base: current.find((r) => r.term === term)!.version, changes: { notes } }] } });
    const [a, b, c] = await Promise.all([send("Tamsin", "burst a"), send("Cinderholt", "burst b"), send("Tamsin", "burst c")]);
    expect(b.status).toBe(200);
    // Whichever of the two Tamsin edits the server took first wins; the other is stale.
    expect([a.status, c.status].sort()).toEqual([200, 409]);
    const winner = a.status === 200 ? "burst a" : "burst c";
    const disk = await readFile(csvPath, "utf8");
    expect(disk).toContain(`Tamsin,Emma|Lucy,person,${winner},approved,x1\n`);
    expect(disk).toContain("Cinderholt,the village,place,burst b,rejected,x2\n");
  });

  it("refuses a concordance without a term", async () => {
    expect((await call("/api/concordance?term=", { headers: auth })).status).toBe(400);
  });

  it("sees a hand edit on disk: the page's old version is refused", async () => {
    const [tamsin] = await rows();
    await writeFile(csvPath, (await readFile(csvPath, "utf8")).replace(/burst [ac]/, "by hand"));
    const r = await call("/api/edit", { method: "POST", headers: auth, body: { edits: [{ term: "Tamsin", base: tamsin.version, changes: { status: "rejected" } }] } });
    expect(r.status).toBe(409);
    expect(JSON.parse(r.body).conflicts[0].current.notes).toBe("by hand");
  });

  it("adds a missed term, refuses a duplicate, and serves its concordance", async () => {
    const add = await call("/api/terms", { method: "POST", headers: auth, body: { term: "Mr. Pike", translations: ["Mr. Hill"], category: "person" } });
    expect(add.status).toBe(201);
    expect(await readFile(csvPath, "utf8")).toMatch(/\nMr\. Pike,Mr\. Hill,person,,pending,\n$/);
    const again = await call("/api/terms", { method: "POST", headers: auth, body: { term: "Mr. Pike", translations: ["x"], category: "person" } });
    expect(again.status).toBe(409);
    expect(JSON.parse(again.body).error).toMatch(/already in the dictionary/);
    const c = JSON.parse((await call(`/api/concordance?term=${encodeURIComponent("Mr. Pike")}`, { headers: auth })).body);
    expect(c.total).toBe(1);
    // Cinderholt was rejected above, so the rewrite leaves it as it is, as the pipeline would.
    expect(c.contexts[0].substituted.map((s: { text: string }) => s.text).join("")).toBe("Emma lived in Cinderholt. Emma met Mr. Hill there.");
  });
});

describe("edit answers at book scale", () => {
  it("carry only the rows whose view changed: the edited row and the rows whose flags it changed", async () => {
    const d = await mkdtemp(join(tmpdir(), "whp-review-answer-"));
    try {
      const path = join(d, "a.csv");
      await writeFile(path, "term,translations,category,notes,status\nTamsin,Emma|Lucy,person,,pending\nOrrin,Tom,person,,pending\nCinderholt,the village,place,,pending\n");
      const s = await startReviewServer({ csvPath: path, docs: DOCS, freq: new Map(), token: TOKEN });
      try {
        const listed = JSON.parse((await rawRequest(s.port, "/api/rows", { headers: auth })).body).rows as { term: string; version: string }[];
        const cinder = listed.find((r) => r.term === "Cinderholt")!;
        // "Emma" for a place: Cinderholt is flagged, and so is Tamsin, a person with the same candidate.
        const r = await rawRequest(s.port, "/api/edit", { method: "POST", headers: auth, body: { edits: [{ term: "Cinderholt", base: cinder.version, changes: { translations: ["Emma"] } }] } });
        expect(r.status).toBe(200);
        const answer = JSON.parse(r.body) as { rows?: unknown; total: number; changed: { term: string; flags: { kind: string }[] }[] };
        expect(answer.rows).toBeUndefined();
        expect(answer.total).toBe(3);
        expect(answer.changed.map((x) => x.term).sort()).toEqual(["Cinderholt", "Tamsin"]);
        expect(answer.changed.find((x) => x.term === "Tamsin")!.flags.map((f) => f.kind)).toContain("kind-mismatch");
        // Another candidate: Tamsin keeps as many flags, but one says something else now.
        const now = answer.changed.find((x) => x.term === "Cinderholt") as unknown as { version: string };
        const again = JSON.parse((await rawRequest(s.port, "/api/edit", { method: "POST", headers: auth, body: { edits: [{ term: "Cinderholt", base: now.version, changes: { translations: ["Lucy"] } }] } })).body) as typeof answer;
        expect(again.changed.map((x) => x.term).sort()).toEqual(["Cinderholt", "Tamsin"]);
        expect(JSON.stringify(again.changed.find((x) => x.term === "Tamsin")!.flags)).toContain("Lucy");
      } finally {
        await s.close();
      }
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
