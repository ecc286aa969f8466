/**
 * The JSON Schema a chat request asks the server to follow (OpenAI structured outputs, strict mode),
 * generated with zod 4's `z.toJSONSchema` from the zod schema of the same answer, so the two cannot
 * drift apart. openai-node does the same in `zodResponseFormat` (openai 6.x, helpers/zod: zod v4 ->
 * `z.toJSONSchema` -> lib/transform.ts `toStrictJsonSchema`); tests/structured-output.test.ts checks
 * that helper accepts every schema here and emits the same structure.
 *
 * Strict mode wants every object closed (`additionalProperties: false`) with every property required,
 * which is what `z.toJSONSchema` emits for a `z.object` read as output (a `.default()` field counts as
 * present). What zod adds beyond the shape is not sent:
 * - `$schema`, and `default` (an annotation: the answer is validated on our side, where defaults apply);
 * - string lengths and list sizes (`minLength`, `maxLength`, `minItems`, `maxItems`): they stay checks
 *   of our validator. OpenAI's strict mode lists no string-length keyword among those it supports,
 *   and leaving the list sizes out too keeps each request exactly what it was when these schemas were
 *   hand-written, so the request caches (keyed by the canonical request, schema included) still hit.
 * Anything else outside the small subset below is a programming error, thrown when the module loads.
 */
import { z } from "zod";

/** What ChatRequest.jsonSchema carries: sent as response_format.json_schema with strict: true. */
export interface JsonSchemaFormat {
  name: string;
  schema: Record<string, unknown>;
}

/** Validation-only keywords zod emits that the request leaves out (see the module comment). */
const NOT_SENT = new Set(["$schema", "default", "minLength", "maxLength", "minItems", "maxItems"]);

/** The keywords a generated schema may carry: the part of OpenAI's strict subset these answers use. */
const ALLOWED = new Set(["type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "minimum", "maximum", "description"]);

/** The structured-output format for answers of `schema` (a zod object), named `name`. */
export function structuredOutput(name: string, schema: z.ZodType): JsonSchemaFormat {
  const json = z.toJSONSchema(schema, { io: "output", unrepresentable: "throw" }) as Record<string, unknown>;
  const clean = strip(json) as Record<string, unknown>;
  if (clean.type !== "object") throw new Error(`structured output "${name}": the root must be an object, got ${String(clean.type)}`);
  checkStrict(clean, name);
  return { name, schema: clean };
}

function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (NOT_SENT.has(k)) continue;
    // enum and const hold values, not schemas: copied as they are.
    out[k] = k === "enum" || k === "const" ? v : k === "properties" ? mapValues(v as Record<string, unknown>, strip) : strip(v);
  }
  return out;
}

const mapValues = (o: Record<string, unknown>, f: (v: unknown) => unknown) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

/** Throws, naming the path, where the schema leaves strict mode's rules or the subset above. */
function checkStrict(node: Record<string, unknown>, path: string): void {
  for (const k of Object.keys(node)) if (!ALLOWED.has(k)) throw new Error(`structured output ${path}: keyword "${k}" is not in the strict subset this project sends`);
  if (node.type === "object") {
    const props = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
    const required = (node.required ?? []) as string[];
    if (node.additionalProperties !== false) throw new Error(`structured output ${path}: objects must set additionalProperties: false`);
    const missing = Object.keys(props).filter((p) => !required.includes(p));
    if (missing.length) throw new Error(`structured output ${path}: strict mode needs every property required; optional: ${missing.join(", ")}`);
    for (const [p, child] of Object.entries(props)) checkStrict(child, `${path}.${p}`);
  }
  if (node.items) checkStrict(node.items as Record<string, unknown>, `${path}[]`);
  if (Array.isArray(node.anyOf)) node.anyOf.forEach((c, i) => checkStrict(c as Record<string, unknown>, `${path}|${i}`));
}
