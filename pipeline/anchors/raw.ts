/**
 * The raw answers file: one JSONL line per model call (or per offline-extractor run), written as each
 * answer arrives. It is the extraction cache (a request whose hash is already there is not sent
 * again, so a crashed extraction resumes without paying twice) and the only input of consolidation,
 * which can therefore be re-run offline with new rules at no cost.
 *
 * Not an io/disk-cache.ts DiskCache, on purpose: its contract is a log, one human-readable file a
 * person can read, diff and hand to consolidation with `--raw`, whose order and content define the
 * dictionary; an entry-per-file cache would lose that. What it shares with the caches is the behaviour
 * for a bad entry where it acts as a cache: extraction counts a corrupt line, warns with its file:line,
 * and asks its request again (the line's request hash cannot be trusted, so it is not "done"). The
 * readers that cannot ask again (consolidation, the offline extractor's rewrite) refuse instead
 * (requireWhole): building a dictionary from fewer answers than the file holds would be a silent loss.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { appendFileRedacted, describeIssues } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";

export const RAW_VERSION = 1;

export const rawAnswerSchema = z.object({
  version: z.literal(RAW_VERSION),
  /** The passage the answer is about (`<document>@<char>`), or a label for corpus-wide proposals. */
  passageId: z.string().min(1),
  /** The cache key: hash of the provider and the canonical request. */
  requestHash: z.string().min(1),
  /** sha256 of the prompt file used ("" for the offline extractor). */
  promptHash: z.string(),
  /** The model asked, and the one the server says answered. */
  model: z.string(),
  answeredBy: z.string().default(""),
  /** Who proposed, as marked in the review file: "llm:<model>" or "heuristic". */
  source: z.string().min(1),
  finishReason: z.string().nullable().default(null),
  /** What the answer was asked to be: the structured anchor list, or any form (see parseAnswer). */
  format: z.enum(["anchors", "any"]).default("any"),
  text: z.string(),
});
export type RawAnswer = z.infer<typeof rawAnswerSchema>;

export interface RawFile {
  answers: RawAnswer[];
  /** A last line cut off by a crash mid-write: ignored (its request is simply sent again). */
  tornLastLine: boolean;
  /** Complete lines that are not a valid answer, as "<file>:<line>: <problem>", in file order. */
  corrupt: string[];
  /** Those lines as they stand in the file (same order), so a rewrite can set them aside, not lose them. */
  corruptLines: string[];
}

/** Reads the raw answers; every bad line is listed in `corrupt` with file:line, except a torn last line. */
export async function readRawAnswers(path: string): Promise<RawFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return { answers: [], tornLastLine: false, corrupt: [], corruptLines: [] };
  }
  const lines = text.split("\n");
  const answers: RawAnswer[] = [];
  const corrupt: string[] = [];
  const corruptLines: string[] = [];
  let tornLastLine = false;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const isLast = i === lines.length - 1;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      // A complete line always ends with "\n"; only the unterminated last one can be a torn write.
      if (isLast) tornLastLine = true;
      else {
        corrupt.push(`${path}:${i + 1}: not JSON (${(e as Error).message})`);
        corruptLines.push(line);
      }
      return;
    }
    const parsed = rawAnswerSchema.safeParse(raw);
    if (parsed.success) answers.push(parsed.data);
    else {
      corrupt.push(`${path}:${i + 1}: ${describeIssues(parsed.error)}`);
      corruptLines.push(line);
    }
  });
  return { answers, tornLastLine, corrupt, corruptLines };
}

/** Where extraction sets aside the corrupt lines it drops from the raw answers (appended, never
 * overwritten), so a garbled hand edit is kept for a person to look at. */
export const setAsidePath = (rawPath: string) => `${rawPath}.set-aside`;

/** For readers that cannot ask again: the file with no corrupt line, or an error naming them. */
export function requireWhole(raw: RawFile): RawFile {
  const bad = raw.corrupt;
  if (bad.length) throw new UserError(`${bad.length} bad line(s) in the raw answers:\n  ${bad.slice(0, 20).join("\n  ")}`, "fix or delete those lines, or run `whp anchors extract` again, which asks their requests again");
  return raw;
}

/** Appends answers one line at a time, in the order given, never two writes at once. */
export class RawAnswerLog {
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  append(answer: RawAnswer): Promise<void> {
    const line = `${JSON.stringify(rawAnswerSchema.parse(answer))}\n`;
    // Through the shared writer, so a key a model repeats in its answer is redacted (core/redact.ts).
    this.chain = this.chain.then(() => appendFileRedacted(this.path, line));
    return this.chain;
  }
}
