/**
 * Progress and warnings go to stderr so stdout stays clean for output a user may pipe.
 * `format: "json"` writes one JSON object per line ({level, message} or a progress record) for log
 * collectors; colour is used only on a TTY and never when NO_COLOR is set (https://no-color.org).
 * Every line is redacted (core/redact.ts): a server's error body may echo the API key.
 */
import { redact } from "../core/redact.js";

export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** Settings progress bars follow; absent on loggers that predate them (treated as text, not quiet). */
  readonly quiet?: boolean;
  readonly format?: LogFormat;
  /** Writes a raw line (a progress record in json format); memory loggers keep it. */
  line?(text: string): void;
}

export interface LoggerOptions {
  quiet?: boolean;
  format?: LogFormat;
  /** Defaults to process.env; injectable for tests. */
  env?: NodeJS.ProcessEnv;
  stream?: NodeJS.WriteStream;
}

/** Whether to colour output: a TTY, and NO_COLOR unset or empty. */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const format = opts.format ?? "text";
  const color = format === "text" && useColor(stream, opts.env);
  const write = (text: string) => stream.write(`${redact(text)}\n`);
  const json = (level: string, message: string) => write(JSON.stringify({ level, message }));
  return {
    quiet: opts.quiet,
    format,
    line: write,
    info: (m) => {
      if (opts.quiet) return;
      if (format === "json") json("info", m);
      else write(m);
    },
    warn: (m) => {
      if (format === "json") json("warn", m);
      else write(color ? `\u001b[33mwarning:\u001b[0m ${m}` : `warning: ${m}`);
    },
  };
}

/** A logger that keeps messages in memory, for tests. */
export function memoryLogger(opts: { quiet?: boolean; format?: LogFormat } = {}): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    quiet: opts.quiet,
    format: opts.format,
    line: (t) => lines.push(redact(t)),
    info: (m) => {
      if (!opts.quiet) lines.push(redact(m));
    },
    warn: (m) => lines.push(`warning: ${redact(m)}`),
  };
}
