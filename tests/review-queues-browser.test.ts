/**
 * The review page's queue tabs end to end in headless Chromium (as tests/review-browser.test.ts: Debian's
 * `chromium` via playwright-core, skipped with a reason locally without it, failing under CI): on a
 * small run whose queues the CLI wrote, set a replace verdict by a runner-up and a mask by key, a
 * human score by key, reload, check the CSVs on disk, and that `whp labels --apply-review` and
 * `whp eval --audit` take the edited files; two tabs on one row. Saves a screenshot of each tab to SHOTS.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../pipeline/paths.js";
import { startReviewServer, type ReviewServer } from "../pipeline/review/server.js";
import { whpCli } from "./helpers/capture.js";
import { makeQueueRun, type QueueRun } from "./helpers/review-queues.js";

const CANDIDATES = process.env.WHP_CHROMIUM ? [process.env.WHP_CHROMIUM] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const executable = CANDIDATES.find((p) => existsSync(p));
const missing = `no headless Chromium found (looked for ${CANDIDATES.join(", ")}); install Debian's: apt-get install -y chromium`;
if (!executable && !process.env.CI) console.warn(`[review-queues-browser] SKIPPED: ${missing}`);

const SHOTS = resolve(packageRoot(), process.env.WHP_SCREENSHOTS_DIR ?? join("out", "screenshots"));
let run: QueueRun;
let server: ReviewServer;
let browser: Browser;

const csv = async (file: string) => parse(await readFile(file, "utf8"), { columns: true }) as Record<string, string>[];
const card = (page: Page, key: string) => page.locator(`#queue-rows .qrow[data-key="${key.replace(/["\\]/g, "\\$&")}"]`);

async function openTab(page: Page, tab: "labels" | "judge"): Promise<void> {
  await page.locator(`#tabs .tab[data-tab="${tab}"]`).click();
  await expect.poll(() => page.locator("#queue-rows .qrow").count()).toBeGreaterThan(3);
}

describe.runIf(executable || process.env.CI)("the review page's queue tabs in headless Chromium", () => {
  beforeAll(async () => {
    if (!executable) throw new Error(`CI is set but ${missing}`);
    run = await makeQueueRun();
    server = await startReviewServer({ csvPath: join(run.dir, "anchors.csv"), docs: [], freq: new Map(), runDir: run.runDir });
    await mkdir(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: executable, args: ["--no-sandbox"] }); // why: CI runs as root
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (run) await rm(run.dir, { recursive: true, force: true });
  });

  it("sets verdicts and human scores, keeps them over a reload, and the CLI takes the edited files", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(server.url);
    await openTab(page, "labels");
    expect(await page.locator("#queue-next").textContent()).toContain(`whp labels --apply-review ${run.labelsFile} && whp export`);
    expect(await page.locator("#queue-note").textContent()).toMatch(/exactly one token .* --apply-review/);
    expect(await page.locator("#rows").isVisible()).toBe(false); // the dictionary tab is hidden
    const queued = await csv(run.labelsFile);
    const [a, b] = queued;
    expect(await card(page, a.id).locator(".ctxline mark").first().textContent()).toBe(/\[\[(.*?)\]\]/.exec(a.original_context)?.[1]);

    // A runner-up click: replace with that token. Then the key m on the next row: mask (moves on).
    const runner = a.runner_ups.split(" | ")[0];
    await card(page, a.id).locator("button.runner").first().click();
    await expect.poll(async () => (await csv(run.labelsFile))[0]).toMatchObject({ verdict: "replace", replacement: runner });
    await card(page, b.id).locator(".meta").click();
    await page.keyboard.press("m");
    await expect.poll(async () => (await csv(run.labelsFile))[1].verdict).toBe("mask");
    await expect.poll(() => page.locator("#queue-rows .qrow.selected").getAttribute("data-key")).toBe(queued[2].id);
    await card(page, b.id).locator("input.qnotes").fill("a comma is fine here");
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await csv(run.labelsFile))[1].notes).toBe("a comma is fine here");
    // "replace" without a replacement is not sent: the page asks for the token.
    await card(page, queued[2].id).locator('select[data-field="verdict"]').selectOption("replace");
    await expect.poll(() => page.locator("#message").textContent()).toMatch(/type the replacement token/);
    expect((await csv(run.labelsFile))[2].verdict).toBe("");
    await page.locator("#queue-show").selectOption("done");
    await expect.poll(() => page.locator("#queue-rows .qrow").count()).toBe(2);
    await page.locator("#queue-show").selectOption("");
    await card(page, a.id).locator(".meta").click();
    await page.screenshot({ path: join(SHOTS, "review-labels-queue.png") });

    // The judge audit: references marked in the completion, a score by key (moves on), notes.
    await openTab(page, "judge");
    expect(await page.locator("#queue-next").textContent()).toContain(`whp eval --audit ${run.judgeFile}`);
    const audit = await csv(run.judgeFile);
    const scored = audit.find((r) => r.completion.includes("Tamsin"))!;
    const key = JSON.stringify([scored.model, scored.id]);
    expect(await card(page, key).locator(".completion mark").allTextContents()).toEqual(["Cinderholt", "Tamsin"]);
    await card(page, key).locator(".meta").click();
    await page.keyboard.press("2");
    await expect.poll(async () => (await csv(run.judgeFile)).find((r) => r.id === scored.id)?.human_score).toBe("2");
    await card(page, key).locator("input.qnotes").fill("names both");
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await csv(run.judgeFile)).find((r) => r.id === scored.id)?.notes).toBe("names both");
    await page.screenshot({ path: join(SHOTS, "review-judge-audit.png") });

    // Reload: the judge tab stays open (#judge) and shows what is on disk; so does the labels tab.
    await page.reload();
    await expect.poll(() => card(page, key).locator("button.score.on").textContent()).toBe("2");
    expect(await card(page, key).locator("input.qnotes").inputValue()).toBe("names both");
    await openTab(page, "labels");
    expect(await card(page, a.id).locator('select[data-field="verdict"]').inputValue()).toBe("replace");
    expect(await card(page, a.id).locator("input.replacement").inputValue()).toBe(runner);
    expect(await card(page, b.id).locator('select[data-field="verdict"]').inputValue()).toBe("mask");
    await page.close();

    // Only the edited rows changed; the CLI takes both files.
    const after = await csv(run.labelsFile);
    expect(after.slice(2)).toEqual(queued.slice(2));
    const applied = await whpCli(run.configPath, "labels", "--apply-review", run.labelsFile);
    expect(applied.code, applied.err).toBe(0);
    expect(applied.out).toMatch(/applied 2 verdict\(s\) \(accept 0, replace 1, mask 1\)/);
    const report = await whpCli(run.configPath, "eval", "--audit", run.judgeFile);
    expect(report.code, report.err).toBe(0);
    expect(report.out).toContain("1 scored by a person, 1 scored by both");
  }, 20_000);

  it("two tabs scoring one row: the stale score is refused and shown, the first one stays", async () => {
    const pages = [await browser.newPage(), await browser.newPage()];
    for (const p of pages) {
      await p.goto(server.url);
      await openTab(p, "judge");
    }
    const row = (await csv(run.judgeFile)).find((r) => r.human_score === "")!;
    const key = JSON.stringify([row.model, row.id]);
    await card(pages[0], key).locator('button.score[data-idx="3"]').click();
    await expect.poll(async () => (await csv(run.judgeFile)).find((r) => r.id === row.id)?.human_score).toBe("3");
    await card(pages[1], key).locator('button.score[data-idx="1"]').click();
    await expect.poll(() => pages[1].locator("#message").textContent()).toMatch(/changed on disk.*now: human score "3".*yours was human_score "1"/);
    await expect.poll(() => card(pages[1], key).locator("button.score.on").textContent()).toBe("3");
    expect((await csv(run.judgeFile)).find((r) => r.id === row.id)?.human_score).toBe("3");
    for (const p of pages) await p.close();
  }, 15_000);
});
