/** Operator comfort: progress lines (plain, json, quiet), NO_COLOR, and the --log-format option. */
import { describe, expect, it } from "vitest";
import { main } from "../pipeline/cli.js";
import { createLogger, memoryLogger, useColor } from "../pipeline/io/log.js";
import { formatSeconds, progressLine, startProgress } from "../pipeline/io/progress.js";

/** A fake non-TTY stream that records what is written. */
function sink(isTTY = false): NodeJS.WriteStream & { text: string[] } {
  const text: string[] = [];
  return { isTTY, text, write: (c: string) => (text.push(String(c)), true) } as unknown as NodeJS.WriteStream & { text: string[] };
}

describe("progress", () => {
  it("without a TTY prints a plain line at most every interval, and a final one with rate and ETA", () => {
    const log = memoryLogger();
    let t = 0;
    const p = startProgress(log, "labels", 10, { unit: "blocks", intervalMs: 1000, now: () => t, stream: sink() });
    for (let i = 0; i < 10; i++) {
      t += 400;
      p.tick();
    }
    p.done();
    expect(log.lines).toEqual([
      "labels: 3/10 blocks (30.0%), 2.5 blocks/s, ETA 3s",
      "labels: 6/10 blocks (60.0%), 2.5 blocks/s, ETA 2s",
      "labels: 9/10 blocks (90.0%), 2.5 blocks/s, ETA 0s",
      "labels: 10/10 blocks (100.0%), 2.5 blocks/s, ETA 0s",
    ]);
  });

  it("writes JSON records with --log-format json, and nothing when quiet", () => {
    const json = memoryLogger({ format: "json" });
    let t = 0;
    const p = startProgress(json, "export", 4, { now: () => (t += 500), stream: sink() });
    p.tick(4);
    p.done();
    expect(json.lines.map((l) => JSON.parse(l))).toEqual([{ level: "progress", stage: "export", done: 4, total: 4, unit: "items", rate: 4, etaSeconds: 0 }]);
    const quiet = memoryLogger({ quiet: true });
    const q = startProgress(quiet, "export", 4, { stream: sink() });
    q.tick(4);
    q.done();
    expect(quiet.lines).toEqual([]);
  });

  it("draws a cli-progress bar on a TTY", () => {
    const tty = sink(true);
    Object.assign(tty, { columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    const p = startProgress(createLogger({ stream: tty }), "labels", 2, { unit: "blocks", stream: tty });
    p.tick(2);
    p.done();
    expect(tty.text.join("")).toMatch(/labels [#-]+ 2\/2 blocks/);
  });

  it("formats durations and lines", () => {
    expect([formatSeconds(5.2), formatSeconds(65), formatSeconds(Infinity)]).toEqual(["5s", "1m05s", "?"]);
    expect(progressLine("x", 0, 10, 0, "items")).toBe("x: 0/10 items (0.0%), 0.0 items/s, ETA ?");
  });
});

describe("logging", () => {
  it("colours warnings only on a TTY without NO_COLOR", () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    const plain = sink(true);
    createLogger({ stream: plain, env: { NO_COLOR: "1" } }).warn("careful");
    expect(plain.text).toEqual(["warning: careful\n"]);
    const coloured = sink(true);
    createLogger({ stream: coloured, env: {} }).warn("careful");
    expect(coloured.text[0]).toContain("\u001b[33m");
  });

  it("json format writes one object per line; quiet drops info but keeps warnings", () => {
    const s = sink();
    const log = createLogger({ stream: s, format: "json", quiet: true });
    log.info("hidden");
    log.warn("shown");
    expect(s.text.map((l) => JSON.parse(l))).toEqual([{ level: "warn", message: "shown" }]);
  });

  it("--log-format accepts text and json only (a bad value is a user error)", async () => {
    const err = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await main(["node", "whp", "check", "--log-format", "xml", "--config", "/nonexistent.yaml"])).toBe(2);
    } finally {
      process.stderr.write = err;
    }
  });
});
