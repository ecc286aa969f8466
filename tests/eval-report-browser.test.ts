/**
 * The HTML report opened from disk in a real headless Chromium (Debian's `chromium`), whose parsed DOM
 * must hold the side-by-side table, the SVG bar charts and the token view. No npm package: the browser
 * runs as a child process with --dump-dom. Without a browser the test does not pass silently: it fails
 * under CI (which installs chromium, see .ci/run) and is skipped with a printed reason locally.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { renderReport } from "../pipeline/eval/report.js";

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
    relativePerplexity: est(1 + i / 100, 0.9, 1.1, 30),
    neighbourPerplexity: est(310 + 10 * i, 270, 400, 30),
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
      expect(svgs).toHaveLength(5); // familiarity, leak rate, retain and neighbour perplexity, KL
      for (const svg of svgs) expect(svg.match(/<rect /g)).toHaveLength(4);
      expect(dom).toMatch(/<section class="block"><h3>forget#0<\/h3><div class="tokens">/);
      expect(dom).toMatch(/<span class="tok changed"[^>]*> T<sub> the<\/sub><\/span>/);
      expect(dom).toContain('<span class="tok masked" title="masked: not trained">ams</span>');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
