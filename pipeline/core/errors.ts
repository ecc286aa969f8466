/**
 * Errors sorted by what the caller should do about them.
 * - UserError: the input or config is wrong; the message names the file/field and the fix. Exit 2.
 * - CommandFailed: the command did its work and printed its report, but the result is a failure (every
 *   call to a model failed, `--strict` found flags). Exit 1, with the message and no stack trace.
 * - Anything else that escapes a stage is a failure of the tool or its environment. Exit 1.
 * main() in cli.ts is the one place that turns these into the process's exit code; no command sets
 * process.exitCode itself (bin/whp.js assigns main()'s result, which would overwrite it).
 * Per-item problems (one bad occurrence, one unparseable response) are not thrown: stages record and
 * count them in their stats so nothing is silently dropped.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  constructor(
    message: string,
    /** What the user should do, printed after the message. */
    readonly fix?: string,
  ) {
    super(message);
  }
}

export class CommandFailed extends Error {
  override readonly name = "CommandFailed";
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

export const EXIT = { ok: 0, failure: 1, userError: 2 } as const;

export function formatError(err: unknown): { text: string; exitCode: number } {
  if (err instanceof UserError) {
    return { text: `error: ${err.message}${err.fix ? `\n  fix: ${err.fix}` : ""}`, exitCode: EXIT.userError };
  }
  if (err instanceof CommandFailed) {
    return { text: `failed: ${err.message}${err.fix ? `\n  fix: ${err.fix}` : ""}`, exitCode: EXIT.failure };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { text: `failure: ${e.stack ?? e.message}`, exitCode: EXIT.failure };
}
