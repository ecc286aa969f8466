/**
 * The review page at book scale (issue 16 #2), part of `npm run bench`; alone: `npx tsx bench/review.bench.ts`.
 * A generated forget corpus of 6 MB with 1,600 dictionary terms (bench/book-corpus.ts), served by the
 * real review server and driven over HTTP like the page drives it. Targets: start under 5 s (word
 * frequencies, first names, index and every count and flag), the row list under 300 ms, an edit under
 * 100 ms (answer included: the page takes the new rows from it), a concordance under 200 ms. CPU time
 * is this process's (server and client share it), so a busy machine shows in wall time only.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadWordFrequencies } from "../pipeline/anchors/corpus-stats.js";
import { loadNameLexicon } from "../pipeline/anchors/name-lexicon.js";
import { startReviewServer } from "../pipeline/review/server.js";
import { generateBookCorpus } from "./book-corpus.js";

interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T } & Timing> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { value, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

interface Row {
  term: string;
  version: string;
  status: string;
  occurrences: number;
  translations: string[];
}

export interface ReviewBenchLine {
  what: string;
  wallMs: number;
  cpuMs: number;
  targetMs: number;
}

export async function benchReview(opts: { chars?: number; terms?: number } = {}): Promise<ReviewBenchLine[]> {
  const chars = opts.chars ?? 6_000_000;
  const terms = opts.terms ?? 1600;
  const book = generateBookCorpus({ chars, terms });
  const dir = await mkdtemp(join(tmpdir(), "whp-bench-review-"));
  const csvPath = join(dir, "book.csv");
  await writeFile(csvPath, book.csv);
  const lines: ReviewBenchLine[] = [];
  const start = await timed(async () => startReviewServer({ csvPath, docs: book.docs, freq: await loadWordFrequencies(), names: await loadNameLexicon(), token: "bench" }));
  const server = start.value;
  lines.push({ what: `start (${(chars / 1e6).toFixed(1)} MB, ${terms} terms: index, counts, flags)`, wallMs: start.wallMs, cpuMs: start.cpuMs, targetMs: 5000 });
  const base = `http://127.0.0.1:${server.port}`;
  const headers = { "x-whp-token": "bench", "content-type": "application/json" };
  const get = async (path: string) => (await fetch(base + path, { headers })).json() as Promise<{ rows: Row[] }>;
  const edit = async (row: Row, changes: Record<string, unknown>) => {
    const res = await fetch(`${base}/api/edit`, { method: "POST", headers, body: JSON.stringify({ edits: [{ term: row.term, base: row.version, changes }] }) });
    if (res.status !== 200) throw new Error(`edit of ${row.term}: HTTP ${res.status}`);
    return (await res.json()) as { rows?: Row[]; changed?: Row[] };
  };
  try {
    const median = (xs: Timing[]) => {
      const by = (k: keyof Timing) => xs.map((x) => x[k]).sort((a, b) => a - b)[xs.length >> 1];
      return { wallMs: by("wallMs"), cpuMs: by("cpuMs") };
    };
    const lists: Timing[] = [];
    let rows: Row[] = [];
    for (let i = 0; i < 5; i++) {
      const t = await timed(() => get("/api/rows"));
      rows = t.value.rows;
      lists.push(t);
    }
    lines.push({ what: `row list (GET /api/rows, ${rows.length} rows, median of 5)`, ...median(lists), targetMs: 300 });

    const byFrequency = [...rows].sort((a, b) => b.occurrences - a.occurrences);
    const current = (term: string) => rows.find((r) => r.term === term)!;
    // Each kind of edit five times on different rows (the same row, for the most frequent term):
    // the median, and the slowest. The page's first edits also pay for the JIT warming up.
    const take = (answer: { rows?: Row[]; changed?: Row[] }) => {
      // As the page does: the answer holds the rows whose view changed (all rows when rows came or went).
      const changed = new Map((answer.changed ?? []).map((r) => [r.term, r]));
      rows = answer.rows ?? rows.map((r) => changed.get(r.term) ?? r);
      return changed.size;
    };
    const series = async (what: string, edits: (() => Promise<{ rows?: Row[]; changed?: Row[] }>)[]) => {
      const times: Timing[] = [];
      let answered = 0;
      for (const fn of edits) {
        const t = await timed(fn);
        answered = Math.max(answered, take(t.value));
        times.push(t);
      }
      const slowest = times.reduce((a, b) => (b.wallMs > a.wallMs ? b : a));
      lines.push({ what: `edit: ${what} (POST /api/edit, median of ${times.length}; slowest ${Math.round(slowest.wallMs)} ms wall; up to ${answered} row(s) in the answer)`, ...median(times), targetMs: 100 });
    };
    const five = (from: number) => [0, 1, 2, 3, 4].map((k) => byFrequency[from + 7 * k].term);
    await series("approve a row", five(200).map((t) => () => edit(current(t), { status: "approved" })));
    await series("change a row's candidates", five(300).map((t, k) => () => edit(current(t), { translations: [["Grace", "Julia"], ["Tom"], ["Laura", "Henry"], ["Ruth"], ["Simon", "Adam"]][k] })));
    await series("reject a mid-frequency term", five(400).map((t) => () => edit(current(t), { status: "rejected" })));
    const top = byFrequency[0].term;
    await series(`reject or restore the most frequent term (${byFrequency[0].occurrences} occurrences)`, [0, 1, 2, 3, 4].map((k) => () => edit(current(top), { status: k % 2 ? "pending" : "rejected" })));
    for (const r of [byFrequency[0], byFrequency[800]]) {
      const q = new URLSearchParams({ term: r.term });
      const t = await timed(() => get(`/api/concordance?${q}`));
      lines.push({ what: `concordance of a term with ${r.occurrences} occurrences`, wallMs: t.wallMs, cpuMs: t.cpuMs, targetMs: 200 });
    }
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
  return lines;
}

export function printReviewBench(lines: readonly ReviewBenchLine[]): void {
  console.log("review page at book scale (generated corpus, real server over HTTP):");
  for (const l of lines) {
    const ok = l.wallMs <= l.targetMs ? "ok" : "OVER";
    console.log(`  ${l.what}: ${Math.round(l.wallMs)} ms wall, ${Math.round(l.cpuMs)} ms CPU (target < ${l.targetMs} ms: ${ok})`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) printReviewBench(await benchReview());
