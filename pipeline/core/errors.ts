/**
 * Errors sorted by what the caller should do about them.
 * - UserError: the input or config is wrong; the message names the file/field and the fix. Exit 2.
 * - Anything else that escapes a stage is a failure of the tool or its environment. Exit 1.
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

export const EXIT = { ok: 0, failure: 1, userError: 2 } as const;

export function formatError(err: unknown): { text: string; exitCode: number } {
  if (err instanceof UserError) {
    return { text: `error: ${err.message}${err.fix ? `\n  fix: ${err.fix}` : ""}`, exitCode: EXIT.userError };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { text: `failure: ${e.stack ?? e.message}`, exitCode: EXIT.failure };
}
