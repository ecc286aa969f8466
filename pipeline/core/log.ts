/** Progress and warnings go to stderr so stdout stays clean for output a user may pipe. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export function createLogger(opts: { quiet?: boolean } = {}): Logger {
  return {
    info: (m) => {
      if (!opts.quiet) process.stderr.write(`${m}\n`);
    },
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
  };
}

/** A logger that keeps messages in memory, for tests. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`) };
}
