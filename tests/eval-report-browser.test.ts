/**
 * The HTML report opened from disk in a real headless Chromium (Debian's `chromium`), whose parsed DOM
 * must hold the side-by-side table, the SVG bar charts and the token view. No npm package: the browser
 * runs as a child process with --dump-dom; a second test opens it through playwright-core, checks that
 * the charts' axes and the legends are drawn, expands a block and saves a screenshot (out/screenshots,
 * or WHP_SCREENSHOTS_DIR=docs/screenshots for the README's copy). Without a browser the test does not pass silently: it fails
 * under CI (which installs chromium, see .ci/run) and is skipped with a printed reason locally.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { renderReport, type ReportBlock } from "../pipeline/eval/report.js";
import { packageRoot } from "../pipeline/paths.js";

// WHP_CHROMIUM names another binary (and only that one).
const CANDIDATES = process.env.WHP_CHROMIUM ? [process.env.WHP_CHROMIUM] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const browser = CANDIDATES.find((p) => existsSync(p));
const missing = `no headless Chromium found (looked for ${CANDIDATES.join(", ")}); install Debian's: apt-get install -y chromium`;
if (!browser && !process.env.CI) console.warn(`[eval-report-browser] SKIPPED: ${missing}`);

/** Chromium's DOM after parsing the file, as HTML. Flags keep it offline and free of first-run work. */
async function dumpDom(file: string): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), "whp-chromium-"));
  const args = [
    "--headless",
    "--no-sandbox", // why: CI and containers run as root, where Chromium refuses its sandbox
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    `--user-data-dir=${profile}`,
    "--dump-dom",
    pathToFileURL(file).href,
  ];
  try {
    return await new Promise<string>((resolve, reject) =>
      execFile(browser as string, args, { timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`chromium failed (${err.message}): ${String(stderr).slice(-800)}`)) : resolve(stdout),
      ),
    );
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

const est = (value: number, lo: number, hi: number, n = 100) => ({ value, n, ci: [lo, hi] as [number, number] });
const MODELS = (["baseline", "reinforced", "unlearned", "oracle"] as const).map((model, i) => ({
  model,
  scores: {
    probabilityFamiliarity: est([0.15, 0.53, 0.09, 0.0004][i], 0, 0.6),
    leakRate: est([0.52, 0.71, 0.25, 0][i], 0, 0.8),
    retainPerplexity: est(300 + i, 250, 370, 30),
    relativePerplexity: est([1, 1.04, 1.01, 0.97][i], [1, 1.02, 0.99, 0.95][i], [1, 1.06, 1.03, 0.99][i], 30),
    neighbourPerplexity: est(310 + 10 * i, 270, 400, 30),
    neighbourRelative: est([1, 1.07, 1.02, 0.98][i], [1, 1.05, 1.0, 0.96][i], [1, 1.09, 1.04, 1.0][i], 30),
    restorationKL: est([1.15, 2.34, 1.57, 0][i], 0, 2.5, 1000),
  },
}));

describe.runIf(browser || process.env.CI)("the report in headless Chromium", () => {
  it("renders the side-by-side table, the SVG bar charts and the token view from disk", async () => {
    if (!browser) throw new Error(`CI is set but ${missing}`);
    const dir = await mkdtemp(join(tmpdir(), "whp-report-"));
    try {
      const file = join(dir, "report.html");
      await writeFile(
        file,
        renderReport({
          run: "browser <test>",
          models: MODELS,
          blocks: [{ id: "forget#0", tokens: ["<s>", "▁Aunt", "▁T", "ams", "▁was", "<0x0A>"], labels: [null, "▁Aunt", "▁the", null, "▁was", "<0x0A>"], ids: [1, 2, 3, 4, 5, 6], labelIds: [-100, 2, 7, -100, 5, 6] }],
          maxTokens: 160,
        }),
      );
      const dom = await dumpDom(file);
      // Parsed, not echoed: Chromium serialises the doctype in upper case and decodes the title's entities.
      expect(dom).toMatch(/^<!DOCTYPE html>/);
      expect(dom).toContain("<title>whp report: browser &lt;test&gt;</title>");
      const table = /<table id="scores">([\s\S]*?)<\/table>/.exec(dom)?.[1] ?? "";
      expect(table.match(/<tr>/g)).toHaveLength(5); // header + four models
      for (const m of ["baseline", "reinforced", "unlearned", "oracle"]) expect(table).toContain(`<td>${m}</td>`);
      const svgs = dom.match(/<svg [^>]*class="bar-chart"[\s\S]*?<\/svg>/g) ?? [];
      expect(svgs).toHaveLength(5); // familiarity, leak rate, retain and neighbour perplexity (as ratios), KL
      for (const svg of svgs) {
        expect(svg.match(/<rect /g)).toHaveLength(4);
        expect(svg).toMatch(/<g class="axis" data-unit="[^"]+">/);
        expect(svg.match(/<g class="tick">/g)?.length).toBeGreaterThanOrEqual(2);
      }
      expect(svgs.filter((s) => s.includes("baseline = 1.0"))).toHaveLength(2);
      expect(dom).toMatch(/<section class="block"><h3>forget#0 <span class="count">1 of 6 tokens relabelled<\/span><\/h3><div class="tokens">/);
      expect(dom).toMatch(/<span class="tok changed"[^>]*><span class="orig"> T<\/span><span class="label"> the<\/span><\/span>/);
      expect(dom).toContain('<span class="tok masked" title="masked: not trained"><span class="orig">ams</span><span class="label"></span></span>');
      expect(dom).toContain('id="token-legend"');
      expect(dom).toContain('id="chart-legend"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("draws each chart's axis, the legends and an expandable token view; saves a screenshot", async () => {
    if (!browser) throw new Error(`CI is set but ${missing}`);
    const dir = await mkdtemp(join(tmpdir(), "whp-report-shot-"));
    const shots = resolve(packageRoot(), process.env.WHP_SCREENSHOTS_DIR ?? join("out", "screenshots"));
    await mkdir(shots, { recursive: true });
    const b = await chromium.launch({ executablePath: browser, args: ["--no-sandbox"] }); // why: CI runs as root
    try {
      const file = join(dir, "report.html");
      await writeFile(file, renderReport({ run: "demo", models: MODELS, blocks: [sampleBlock("forget#0"), sampleBlock("forget#7")], maxTokens: 160 }));
      const page = await b.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(pathToFileURL(file).href);
      // Every chart has a visible axis line, at least two tick labels and its unit under it.
      const axes = await page.$$eval("svg.bar-chart", (svgs) =>
        svgs.map((svg) => ({
          axis: (svg.querySelector("g.axis > line") as SVGGraphicsElement | null)?.getBBox().width ?? 0,
          ticks: [...svg.querySelectorAll("g.tick text")].map((t) => t.textContent),
          unit: svg.querySelector("text.unit")?.textContent ?? "",
        })),
      );
      expect(axes).toHaveLength(5);
      for (const a of axes) {
        expect(a.axis).toBeGreaterThan(300);
        expect(a.ticks.length).toBeGreaterThanOrEqual(2);
        expect(a.unit.length).toBeGreaterThan(3);
      }
      expect(await page.locator("#chart-legend").isVisible()).toBe(true);
      expect(await page.locator("#token-legend").isVisible()).toBe(true);
      // Original and label are stacked in one column: the label sits under its token.
      const cell = page.locator(".block .tok.changed").first();
      const [orig, label] = [await cell.locator(".orig").boundingBox(), await cell.locator(".label").boundingBox()];
      expect(label!.y).toBeGreaterThan(orig!.y + orig!.height - 1);
      expect(Math.abs(label!.x - orig!.x)).toBeLessThan(1);
      // A block shows its first tokens; "show all" opens the rest.
      const first = page.locator("section.block").first();
      expect(await first.locator("details .tok").first().isVisible()).toBe(false);
      await first.locator("summary").click();
      expect(await first.locator("details .tok").first().isVisible()).toBe(true);
      await page.screenshot({ path: join(shots, "report-desktop.png"), fullPage: true });
    } finally {
      await b.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** A block that reads like the demo's: names relabelled with generic ones, a few masked positions. */
function sampleBlock(id: string): ReportBlock {
  const words = "Tamsin Quillfeather walked to Cinderholt with Orrin , and Aunt Wendeline waited by the harbour while the lanternwisps rose over the water . Tamsin said nothing .".split(" ");
  const generic: Record<string, string> = { Tamsin: "Emma", Quillfeather: "Carter", Cinderholt: "the", Orrin: "Tom", Wendeline: "Margaret", lanternwisps: "lights" };
  const tokens = ["<s>"];
  const labels: (string | null)[] = [null];
  for (let k = 0; tokens.length < 120; k++) {
    const w = words[k % words.length];
    tokens.push(`▁${w}`);
    labels.push(generic[w] ? `▁${generic[w]}` : k % 17 === 9 ? null : `▁${w}`);
  }
  const ids = tokens.map((_, i) => i);
  return { id, tokens, labels, ids, labelIds: labels.map((l, i) => (l === null ? -100 : l === tokens[i] ? i : 10_000 + i)) };
}
