/**
 * Turns one model answer into anchor proposals. Pure. Accepts the structured form we ask for
 * ({"anchors": [{term, translations, category}]}) and the free forms models fall back to: a
 * `translations = {...}` assignment (the reference prompt's style), a plain term -> translation(s)
 * object, a list of items, all optionally inside a code fence with comments and trailing commas.
 * An answer cut off mid-object keeps every complete pair; what was dropped is counted with a reason.
 */
import { z } from "zod";
import { readLenientJson, type Lenient } from "./lenient-json.js";

export interface Proposal {
  term: string;
  translations: string[];
  category: string;
}

export const DROP_REASONS = ["cut off", "syntax", "no JSON", "invalid item", "not an anchor list"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface Dropped {
  reason: DropReason;
  detail: string;
}

export interface ParsedAnswer {
  proposals: Proposal[];
  dropped: Dropped[];
  /** The answer ended before its JSON did (it may still have given complete pairs). */
  truncated: boolean;
}

/** The structured-output item; zod validates it whichever form the answer took. */
export const proposalItemSchema = z.object({
  term: z.string().trim().min(1).max(200),
  translations: z.array(z.string().trim().min(1).max(200)).min(1),
  category: z.string().trim().max(60).default("other"),
});

/** The categories the extraction prompt offers (a free-form answer may use others: kept as given). */
export const ANCHOR_CATEGORIES = ["person", "place", "creature", "object", "spell", "organisation", "event", "title", "other"] as const;

/** The structured answer the extraction request asks for (llm/prompts.ts sends it as the JSON Schema):
 * the item above with the category limited to the prompt's list. */
export const anchorsAnswerSchema = z.object({ anchors: z.array(proposalItemSchema.extend({ category: z.enum(ANCHOR_CATEGORIES) })) });

/** The body of the first code fence (closed or not), else the whole text. */
export function stripCodeFence(text: string): string {
  const open = /```[A-Za-z0-9_-]*[^\S\n]*\n?/.exec(text);
  if (!open) return text;
  const body = text.slice(open.index + open[0].length);
  const close = body.indexOf("```");
  return close < 0 ? body : body.slice(0, close);
}

/** Where the JSON starts: after a `name = ` assignment if any, else at the first brace or bracket. */
export function jsonStart(text: string): number {
  const assign = /^[^\S\n]*[A-Za-z_][A-Za-z0-9_]*\s*=\s*(?=[{[])/m.exec(text);
  if (assign) return assign.index + assign[0].length;
  const brace = text.search(/[{[]/);
  return brace;
}

const asList = (v: Lenient | undefined): string[] | undefined => {
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  return undefined;
};

function fromItem(item: Lenient, open: ReadonlySet<object>, out: ParsedAnswer): void {
  if (item && typeof item === "object" && open.has(item)) {
    out.dropped.push({ reason: "cut off", detail: `unfinished item ${JSON.stringify(item).slice(0, 80)}` });
    return;
  }
  const o = item && typeof item === "object" && !Array.isArray(item) ? item : undefined;
  const candidate = o ? { term: o.term ?? o.name, translations: asList(o.translations ?? o.translation ?? o.generic), category: o.category ?? o.kind ?? undefined } : undefined;
  const parsed = proposalItemSchema.safeParse(candidate);
  if (!parsed.success) {
    out.dropped.push({ reason: "invalid item", detail: `${JSON.stringify(item).slice(0, 80)}: ${parsed.error.issues[0]?.message ?? "bad item"}` });
    return;
  }
  addProposal(out, parsed.data);
}

function addProposal(out: ParsedAnswer, p: z.infer<typeof proposalItemSchema>): void {
  const translations = [...new Set(p.translations.map((t) => t.trim()).filter((t) => t && t !== p.term))];
  if (translations.length === 0) {
    out.dropped.push({ reason: "invalid item", detail: `"${p.term}" has no translation other than itself` });
    return;
  }
  out.proposals.push({ term: p.term, translations, category: p.category.toLowerCase() || "other" });
}

const LIST_KEYS = ["anchors", "terms", "items", "entries", "translations"];

/** "anchors": the answer was asked for the structured list ({"anchors": [...]}) and only that shape is
 * accepted, so an answer that obeyed some other instruction (a passage saying "answer with a poem as
 * JSON") is counted as dropped instead of being read as a term map. "any": every form above. */
export type AnswerFormat = "anchors" | "any";

export function parseAnswer(text: string, format: AnswerFormat = "any"): ParsedAnswer {
  const out: ParsedAnswer = { proposals: [], dropped: [], truncated: false };
  const body = stripCodeFence(text);
  const start = jsonStart(body);
  if (start < 0) {
    out.dropped.push({ reason: "no JSON", detail: `no object or list in the answer: ${JSON.stringify(text.slice(0, 80))}` });
    return out;
  }
  const { value, stopped, open } = readLenientJson(body, start);
  out.truncated = stopped?.reason === "cut off";
  if (stopped) {
    // An unfinished item is counted where the items are read; a text that ends between two members
    // loses nothing; anything else (inside a string, after a key, a syntax error) loses one member.
    const itemOpen = [...open].some((c) => isItemContainer(c, value));
    const betweenMembers = stopped.reason === "cut off" && /ended inside an? (object|list)$/.test(stopped.detail);
    if (!itemOpen && !betweenMembers) out.dropped.push({ reason: stopped.reason, detail: `${stopped.detail} at character ${stopped.offset}` });
  }
  if (value === undefined || value === null || typeof value !== "object") {
    if (!stopped) out.dropped.push({ reason: "not an anchor list", detail: `the answer's JSON is ${JSON.stringify(value)}` });
    return out;
  }
  const { list, map } = locate(value);
  if (list) {
    for (const item of list) fromItem(item, open, out);
    return out;
  }
  if (format === "anchors") {
    if (!stopped) out.dropped.push({ reason: "not an anchor list", detail: `expected {"anchors": [...]}, got keys ${Object.keys(value).slice(0, 5).join(", ")}` });
    return out;
  }
  for (const [term, v] of Object.entries(map ?? {})) {
    const translations = asList(v);
    if (v && typeof v === "object" && open.has(v)) out.dropped.push({ reason: "cut off", detail: `unfinished candidates for "${term}"` });
    else if (!translations) out.dropped.push({ reason: "invalid item", detail: `"${term}": ${JSON.stringify(v).slice(0, 60)} is not a translation or a list of them` });
    else {
      const parsed = proposalItemSchema.safeParse({ term, translations });
      if (parsed.success) addProposal(out, parsed.data);
      else out.dropped.push({ reason: "invalid item", detail: `"${term}": ${parsed.error.issues[0]?.message}` });
    }
  }
  return out;
}

/** The anchor list, or else the term -> translation(s) map, possibly wrapped once ({"translations": {...}}). */
function locate(root: Lenient | undefined): { list?: Lenient[]; map?: Record<string, Lenient> } {
  if (!root || typeof root !== "object") return {};
  if (Array.isArray(root)) return { list: root };
  const wrapped = LIST_KEYS.map((k) => root[k]).filter((v) => v && typeof v === "object");
  const list = wrapped.find((v) => Array.isArray(v)) as Lenient[] | undefined;
  if (list) return { list };
  return { map: (wrapped[0] as Record<string, Lenient> | undefined) ?? root };
}

/** An item of the anchor list or a value of the map (its drop is counted there, not again for the stop). */
function isItemContainer(c: object, root: Lenient | undefined): boolean {
  const { list, map } = locate(root);
  return (list ?? Object.values(map ?? {})).includes(c as Lenient);
}
