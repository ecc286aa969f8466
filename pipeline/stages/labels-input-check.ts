/**
 * Quick checks of the labels stage's input rows (blocks.jsonl, aligned.jsonl) for the survey pass:
 * on what JSON.parse gives, each is at least as strict as the row's schema (blockSchema, alignedSchema), so a row it passes
 * the schema passes too; a row it refuses goes to the schema, which gives the registry's own message
 * (or, if this check was stricter than needed, accepts it). zod walked and copied every number of
 * the corpus (~0.25 µs per position of the served stage's CPU). tests/labels-input-check.test.ts
 * holds the checks to the schemas' verdicts.
 */
import { UNALIGNED_REASONS } from "../core/anchors.js";

type Obj = Record<string, unknown>;
// zod 4: .int() is a safe integer; z.number() refuses NaN and the infinities.
const isInt = (x: unknown): boolean => Number.isSafeInteger(x);
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const isStr = (x: unknown): boolean => typeof x === "string";

function intArray(a: unknown): boolean {
  if (!Array.isArray(a)) return false;
  for (let i = 0; i < a.length; i++) if (!Number.isSafeInteger(a[i])) return false;
  return true;
}

function every(a: unknown, ok: (x: unknown) => boolean): boolean {
  if (!Array.isArray(a)) return false;
  for (let i = 0; i < a.length; i++) if (!ok(a[i])) return false;
  return true;
}

/** True only for a row blockSchema accepts. */
export function isBlockRow(r: unknown): boolean {
  if (!isObj(r)) return false;
  const span = r.span;
  return isStr(r.id) && isStr(r.doc) && isInt(r.index) && Array.isArray(span) && span.length === 2 && isInt(span[0]) && isInt(span[1]) && intArray(r.input_ids) && intArray(r.starts) && intArray(r.ends);
}

const OCCURRENCE_INTS = ["start", "end", "first", "last", "translatedFirst", "translatedLast"] as const;
const REASONS: ReadonlySet<unknown> = new Set(UNALIGNED_REASONS);

const isForbidden = (f: unknown) => isObj(f) && isInt(f.from) && intArray(f.tokens);
const isOccurrence = (o: unknown) => isObj(o) && isStr(o.term) && isStr(o.translation) && OCCURRENCE_INTS.every((k) => isInt(o[k]));
const isUnaligned = (u: unknown) => isObj(u) && isStr(u.term) && isInt(u.start) && isInt(u.end) && REASONS.has(u.reason);

/** True only for a row alignedSchema accepts. */
export function isAlignedRow(r: unknown): boolean {
  return isObj(r) && isStr(r.id) && intArray(r.translated_ids) && intArray(r.map) && every(r.forbidden, isForbidden) && every(r.occurrences, isOccurrence) && every(r.unaligned, isUnaligned);
}
