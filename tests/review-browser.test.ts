/**
 * The review page end to end in headless Chromium (Debian's `chromium`, driven by playwright-core):
 * approve, edit a candidate, add a missed term by selecting it in a context, bulk reject, reload, two
 * tabs on one row, and the CSV on disk after each. Works on a copy of the demo dictionary. Saves
 * screenshots at desktop width (see SHOTS). Without a browser it fails under CI (which installs one, see .ci/run) and is
 * skipped with a printed reason locally, as tests/eval-report-browser.test.ts is.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadWordFrequencies } from "../pipeline/anchors/corpus-stats.js";
import { loadNameLexicon } from "../pipeline/anchors/name-lexicon.js";
import { packageRoot } from "../pipeline/paths.js";
import { startReviewServer, type ReviewServer } from "../pipeline/review/server.js";
import { generateBookCorpus } from "../bench/book-corpus.js";

const CANDIDATES = process.env.WHP_CHROMIUM ? [process.env.WHP_CHROMIUM] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const executable = CANDIDATES.find((p) => existsSync(p));
const missing = `no headless Chromium found (looked for ${CANDIDATES.join(", ")}); install Debian's: apt-get install -y chromium`;
if (!executable && !process.env.CI) console.warn(`[review-browser] SKIPPED: ${missing}`);

const ROOT = packageRoot();
// Screenshots go to out/screenshots (git-ignored: PNG bytes differ run to run); the README's copies are
// refreshed with WHP_SCREENSHOTS_DIR=docs/screenshots.
const SHOTS = resolve(ROOT, process.env.WHP_SCREENSHOTS_DIR ?? join("out", "screenshots"));
let dir: string;
let csvPath: string;
let original: string;
let server: ReviewServer;
let browser: Browser;

/** The demo dictionary, all rows pending, with a column the page does not know. */
function reviewCopy(demo: string): string {
  const [header, ...rows] = demo.trimEnd().split("\n");
  return [`${header},reviewer`, ...rows.map((r, i) => `${r.replace(/,approved$/, ",pending")},${i === 5 ? "ann" : ""}`)].join("\n") + "\n";
}

const disk = () => readFile(csvPath, "utf8");
const lineOf = (text: string, term: string) => text.split("\n").find((l) => l.startsWith(`${term},`));
const row = (page: Page, term: string) => page.locator(`#rows tbody tr[data-term="${term}"]`);

async function openPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(server.url);
  await expect.poll(() => page.locator("#rows tbody tr").count()).toBeGreaterThan(70);
  return page;
}

describe.runIf(executable || process.env.CI)("the review page in headless Chromium", () => {
  beforeAll(async () => {
    if (!executable) throw new Error(`CI is set but ${missing}`);
    dir = await mkdtemp(join(tmpdir(), "whp-review-browser-"));
    csvPath = join(dir, "demo.csv");
    original = reviewCopy(await readFile(join(ROOT, "anchors", "demo.csv"), "utf8"));
    await writeFile(csvPath, original);
    const forget = join(ROOT, "demo", "forget");
    const docs = await Promise.all((await readdir(forget)).sort().map(async (f) => ({ id: `forget/${f}`, text: await readFile(join(forget, f), "utf8") })));
    server = await startReviewServer({ csvPath, docs, freq: await loadWordFrequencies(), names: await loadNameLexicon() });
    await mkdir(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: executable, args: ["--no-sandbox"] }); // why: CI runs as root
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("approves, edits, adds a missed term, bulk-rejects; all on disk and after a reload", async () => {
    const page = await openPage();
    // Approve with the keyboard; the selection moves on to the next row.
    await row(page, "Tamsin").locator("td.term").click();
    await page.keyboard.press("a");
    await expect.poll(() => row(page, "Tamsin").getAttribute("class")).toContain("status-approved");
    expect(lineOf(await disk(), "Tamsin")).toBe("Tamsin,Emma|Lucy|Sarah|Hannah,person,heroine,approved,");
    expect(await page.locator("#rows tbody tr.selected").getAttribute("data-term")).toBe("Quillfeather");
    await page.keyboard.press("k");
    expect(await page.locator("#rows tbody tr.selected").getAttribute("data-term")).toBe("Tamsin");
    await page.keyboard.press("j");
    expect(await page.locator("#rows tbody tr.selected").getAttribute("data-term")).toBe("Quillfeather");

    // Edit a candidate in place; Enter saves.
    await row(page, "Quillfeather").locator('input[data-field="cand"][data-idx="0"]').fill("Carver");
    await page.keyboard.press("Enter");
    await expect.poll(disk).toContain("Quillfeather,Carver|Walker|Mills,person,heroine's family name,pending,\n");

    // The concordance marks the term and shows the rewrite with the chosen translation.
    await row(page, "Wendeline").locator("td.term").click();
    await expect.poll(() => page.locator("#ctx-title").textContent()).toBe("Wendeline");
    await expect.poll(() => page.locator("#concordance .ctx").count()).toBeGreaterThan(3);
    expect(await page.locator("#concordance .orig mark.term").first().textContent()).toBe("Wendeline");
    expect(await page.locator("#concordance .subst mark.term").first().textContent()).toBe("Margaret");

    // Add "Aunt Wendeline" (missed by the dictionary) by selecting it in a context.
    const selected = await page.evaluate(() => {
      const ctx = [...document.querySelectorAll("#concordance .orig")].find((e) => e.textContent?.includes("Aunt Wendeline"));
      const mark = [...(ctx?.querySelectorAll("mark.term") ?? [])].find((m) => m.previousSibling?.textContent?.endsWith("Aunt "));
      if (!mark?.previousSibling || !mark.firstChild) return "";
      const before = mark.previousSibling as Text;
      const range = document.createRange();
      range.setStart(before, before.data.length - "Aunt ".length);
      range.setEnd(mark.firstChild, (mark.firstChild as Text).data.length);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
      return getSelection()?.toString();
    });
    expect(selected).toBe("Aunt Wendeline");
    await expect.poll(() => page.locator("#add-term").inputValue()).toBe("Aunt Wendeline");
    await page.locator("#add-translations").fill("Aunt Margaret|Aunt Helen");
    await page.locator("#add-category").fill("person");
    await page.locator("#add-submit").click();
    await expect.poll(() => row(page, "Aunt Wendeline").count()).toBe(1);
    expect((await disk()).endsWith("\nAunt Wendeline,Aunt Margaret|Aunt Helen,person,,pending,\n")).toBe(true);
    // Adding it again is refused with a message.
    await page.locator("#add-term").fill("Aunt Wendeline");
    await page.locator("#add-translations").fill("x");
    await page.locator("#add-submit").click();
    await expect.poll(() => page.locator("#message").textContent()).toMatch(/already in the dictionary/);

    // Bulk: reject the rows a search shows.
    await page.locator("#search").fill("lanternwisp");
    await expect.poll(() => page.locator("#rows tbody tr").count()).toBe(2);
    await page.locator("#bulk-reject").click();
    await expect.poll(disk).toMatch(/\nlanternwisp,[^\n]*,rejected,\n/);
    expect(lineOf(await disk(), "lanternwisps")).toMatch(/,rejected,$/);

    // Reload: the page shows what is on disk.
    await page.reload();
    await expect.poll(() => page.locator("#rows tbody tr").count()).toBeGreaterThan(70);
    expect(await row(page, "Tamsin").locator("select.status").inputValue()).toBe("approved");
    expect(await row(page, "Quillfeather").locator('input[data-field="cand"][data-idx="0"]').inputValue()).toBe("Carver");
    expect(await row(page, "Aunt Wendeline").count()).toBe(1);
    expect(await row(page, "lanternwisp").locator("select.status").inputValue()).toBe("rejected");

    // Every row the page did not touch is byte for byte as it was, in its order, with its extra column.
    const touched = new Set(["Tamsin", "Quillfeather", "lanternwisp", "lanternwisps"]);
    const now = (await disk()).split("\n");
    const before = original.split("\n");
    expect(now.slice(0, before.length - 1).filter((l) => !touched.has(l.split(",")[0]))).toEqual(before.slice(0, -1).filter((l) => !touched.has(l.split(",")[0])));
    expect(lineOf(await disk(), "Orrin Blackwater")).toMatch(/,pending,ann$/);

    // The README's screenshot: least confident (here: most flagged) first, the top term's concordance.
    await page.locator("#sort").selectOption("confidence");
    const top = (await page.locator("#rows tbody tr").first().getAttribute("data-term")) ?? "";
    expect(await page.locator("#rows tbody tr").first().locator(".flag").count()).toBeGreaterThan(0);
    await row(page, top).locator("td.term").click();
    await expect.poll(() => page.locator("#ctx-title").textContent()).toBe(top);
    await expect.poll(() => page.locator("#concordance .ctx").count()).toBeGreaterThan(3);
    await page.screenshot({ path: join(SHOTS, "review-desktop.png") });
    await page.close();
  });

  it("two tabs editing one row: the stale write is refused and shown, nothing is lost", async () => {
    const [tab1, tab2] = [await openPage(), await openPage()];
    await row(tab1, "Orrin").locator("input.notes").fill("checked in tab one");
    await tab1.keyboard.press("Enter");
    await expect.poll(disk).toContain("Orrin,Tom|Ben|Sam|Jack,person,checked in tab one,pending,");

    // Tab two still has the old version of the row.
    await row(tab2, "Orrin").locator("input.notes").fill("checked in tab two");
    await tab2.keyboard.press("Enter");
    await expect.poll(() => tab2.locator("#message").textContent()).toMatch(/changed on disk.*yours was notes "checked in tab two"/);
    await expect.poll(() => row(tab2, "Orrin").locator("input.notes").inputValue()).toBe("checked in tab one");
    expect(lineOf(await disk(), "Orrin")).toBe("Orrin,Tom|Ben|Sam|Jack,person,checked in tab one,pending,");
    await tab2.screenshot({ path: join(SHOTS, "review-conflict.png") });

    // A different row from the same tab saves.
    await row(tab2, "Blackwater").locator("td.term").click();
    await tab2.keyboard.press("r");
    await expect.poll(async () => lineOf(await disk(), "Blackwater")).toBe("Blackwater,Harris|Cooper|Turner,person,best friend's family name,rejected,");
    expect(lineOf(await disk(), "Orrin")).toContain("checked in tab one");
  });

  it("a bulk action over more than a handful of rows asks first; every save can be undone, a stale undo is refused", async () => {
    const page = await openPage();
    const before = await disk();
    const dialogs: string[] = [];
    // No filter set: the question says it is the whole dictionary. Dismissed, nothing is written.
    page.once("dialog", (d) => void (dialogs.push(d.message()), d.dismiss()));
    await page.locator("#bulk-approve").click();
    await expect.poll(() => page.locator("#message").textContent()).toMatch(/nothing changed/);
    expect(dialogs[0]).toMatch(/^Mark \d+ rows approved\? That is the whole dictionary/);
    expect(await disk()).toBe(before);
    // Accepted: every shown row is approved, and Undo takes the whole batch back.
    page.once("dialog", (d) => void d.accept());
    await page.locator("#bulk-approve").click();
    await expect.poll(async () => (await disk()).match(/,pending,/g)?.length ?? 0).toBe(0);
    await expect.poll(() => page.locator("#undo").textContent()).toMatch(/^Undo \d+ rows$/); // the answer can come after the file
    await page.locator("#undo").click();
    await expect.poll(disk).toBe(before);
    await expect.poll(() => page.locator("#message").textContent()).toMatch(/^undone \d+ rows/);
    // A bulk action over a handful of rows does not ask (no dialog handler: one would fail the click).
    await page.locator("#search").fill("lanternwisp");
    await expect.poll(() => page.locator("#rows tbody tr").count()).toBe(2);
    await page.locator("#bulk-approve").click();
    await expect.poll(async () => lineOf(await disk(), "lanternwisp")).toMatch(/,approved,$/);
    await page.locator("#search").fill("");

    // One row's edit, undone with the keyboard at once: the save's answer is held back, so "u" comes
    // while the save is still in flight (on disk, not yet answered) and must undo it, not the bulk before.
    await page.route("**/api/edit", async (r) => {
      const answer = await r.fetch();
      await new Promise((done) => setTimeout(done, 400));
      await r.fulfill({ response: answer });
    });
    await row(page, "Orrin Blackwater").locator("input.notes").fill("to undo");
    await page.keyboard.press("Enter");
    await expect.poll(async () => lineOf(await disk(), "Orrin Blackwater")).toContain("to undo");
    await page.keyboard.press("u");
    await expect.poll(async () => lineOf(await disk(), "Orrin Blackwater"), { timeout: 5000 }).not.toContain("to undo");
    expect(lineOf(await disk(), "lanternwisp")).toMatch(/,approved,$/);
    await page.unrouteAll({ behavior: "wait" }); // let held answers finish before the route goes
    // An edit, then a change on disk to that row by someone else: its undo is refused, their change kept.
    await row(page, "Cinderholt").locator("input.notes").fill("mine");
    await page.keyboard.press("Enter");
    await expect.poll(async () => lineOf(await disk(), "Cinderholt")).toContain("mine");
    await writeFile(csvPath, (await disk()).replace(/^(Cinderholt,.*)mine/m, "$1theirs"));
    await page.locator("#undo").click();
    await expect.poll(() => page.locator("#message").textContent()).toMatch(/changed on disk[\s\S]*undo of "Cinderholt"/);
    expect(lineOf(await disk(), "Cinderholt")).toContain("theirs");
    await page.close();
  });

  it("stays responsive with a 2,000-row dictionary: the table holds a page of rows, more on demand", async () => {
    const book = generateBookCorpus({ chars: 600_000, terms: 2000, seed: 2 });
    const bigDir = await mkdtemp(join(tmpdir(), "whp-review-big-"));
    const bigCsv = join(bigDir, "book.csv");
    await writeFile(bigCsv, book.csv);
    const big = await startReviewServer({ csvPath: bigCsv, docs: book.docs, freq: await loadWordFrequencies(), names: await loadNameLexicon() });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await page.goto(big.url);
      await expect.poll(() => page.locator("#summary").textContent()).toMatch(/^2000 terms: .*; 2000 shown$/);
      // A page of rows in the table, not 2,000 rows of inputs.
      expect(await page.locator("#rows tbody tr").count()).toBe(200);
      expect(await page.locator("#more-text").textContent()).toBe("200 of 2000 rows in the table");
      await page.locator("#show-more").click();
      expect(await page.locator("#rows tbody tr").count()).toBe(400);
      // The keyboard walks past the rows in the table: the next page comes in.
      await page.locator("#search").fill("");
      await page.locator("#rows tbody tr").nth(199).locator("td.term").click();
      for (let i = 0; i < 3; i++) await page.keyboard.press("j");
      expect(await page.locator("#rows tbody tr").count()).toBe(200 + 200);
      const third = book.terms[202];
      await expect.poll(() => page.locator("#rows tbody tr.selected").getAttribute("data-term")).toBe(third);
      // Search reaches every row, shown or not; an edit answers with the changed rows only, and shows.
      const last = book.terms[1999];
      await page.locator("#search").fill(last);
      await expect.poll(() => page.locator(`#rows tbody tr[data-term="${last}"]`).count()).toBe(1);
      await page.locator(`#rows tbody tr[data-term="${last}"] td.term`).click();
      await page.keyboard.press("r");
      await expect.poll(async () => (await readFile(bigCsv, "utf8")).split("\n").find((l) => l.startsWith(`${last},`))).toMatch(/,rejected$/);
      await expect.poll(() => page.locator(`#rows tbody tr[data-term="${last}"]`).getAttribute("class")).toContain("status-rejected");
      await expect.poll(() => page.locator("#ctx-title").textContent()).toBe(last);
      await page.locator("#search").fill("");
      await page.screenshot({ path: join(SHOTS, "review-large.png") });
      await page.close();
    } finally {
      await big.close();
      await rm(bigDir, { recursive: true, force: true });
    }
  });
});
