/**
 * Progress for long stages: a cli-progress bar (items/s, ETA) on an interactive terminal; plain
 * periodic lines when stderr is not a TTY (CI logs, `2> file`), JSON records with `--log-format json`,
 * nothing with `--quiet`. The bar is plain ASCII with no colour, so NO_COLOR needs nothing here. Timings go to stderr only, never into artifacts.
 *
 * Usage in a stage: `const p = startProgress(ctx.log, "labels", blocks.length); ... p.tick(); ... p.done();`
 */
import cliProgress from "cli-progress";
import type { Logger } from "./log.js";

export interface Progress {
  tick(n?: number): void;
  done(): void;
}

export interface ProgressOptions {
  /** Unit shown after the rate, e.g. "blocks". */
  unit?: string;
  /** Plain/json mode: at most one line per this many ms (default 5000), plus the final one. */
  intervalMs?: number;
  /** Injectable for tests. */
  stream?: NodeJS.WriteStream;
  now?: () => number;
}

/** "1m05s", "12s": short enough for a status line. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const r = Math.max(0, Math.round(s));
  return r >= 60 ? `${Math.floor(r / 60)}m${String(r % 60).padStart(2, "0")}s` : `${r}s`;
}

/** One plain progress line: counts, percent, rate and ETA. */
export function progressLine(label: string, done: number, total: number, elapsedMs: number, unit: string): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const eta = rate > 0 ? (total - done) / rate : Infinity;
  const pct = total > 0 ? ((100 * done) / total).toFixed(1) : "100.0";
  return `${label}: ${done}/${total} ${unit} (${pct}%), ${rate.toFixed(1)} ${unit}/s, ETA ${done >= total ? "0s" : formatSeconds(eta)}`;
}

const NOOP: Progress = { tick: () => {}, done: () => {} };

export function startProgress(log: Logger, label: string, total: number, opts: ProgressOptions = {}): Progress {
  if (log.quiet || total <= 0) return NOOP;
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => performance.now());
  const unit = opts.unit ?? "items";
  const t0 = now();
  let done = 0;
  if (log.format !== "json" && stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} {bar} {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
        barCompleteChar: "#",
        barIncompleteChar: "-",
        hideCursor: true,
        clearOnComplete: false,
        noTTYOutput: false,
      },
      cliProgress.Presets.legacy,
    );
    bar.start(total, 0, { rate: "0.0" });
    return {
      tick: (n = 1) => {
        done += n;
        const elapsed = now() - t0;
        bar.update(done, { rate: elapsed > 0 ? ((done * 1000) / elapsed).toFixed(1) : "0.0" });
      },
      done: () => bar.stop(),
    };
  }
  const interval = opts.intervalMs ?? 5000;
  let last = t0;
  const emit = () => {
    const elapsed = now() - t0;
    if (log.format === "json") {
      const rate = elapsed > 0 ? (done * 1000) / elapsed : 0;
      (log.line ?? log.info)(JSON.stringify({ level: "progress", stage: label, done, total, unit, rate: Number(rate.toFixed(2)), etaSeconds: rate > 0 ? Math.round((total - done) / rate) : null }));
    } else {
      (log.line ?? log.info)(progressLine(label, done, total, elapsed, unit));
    }
  };
  let finished = false;
  return {
    tick: (n = 1) => {
      done += n;
      const t = now();
      if (t - last >= interval && done < total) {
        last = t;
        emit();
      }
    },
    done: () => {
      if (finished) return;
      finished = true;
      emit();
    },
  };
}
