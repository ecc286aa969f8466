/**
 * The JSON Schemas sent with structured-output requests are generated from zod (llm/structured-output.ts).
 * They must (1) be what the requests sent when the schemas were hand-written, since every request cache
 * key hashes the canonical request, schema included (a change = every cached answer is asked again);
 * (2) pass openai-node's own strict-mode conversion (openai 6.x lib/transform `toStrictJsonSchema`,
 * which `zodResponseFormat` runs) unchanged; (3) refuse shapes strict mode rejects.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { toStrictJsonSchema } from "openai/lib/transform";
import { zodResponseFormat } from "openai/helpers/zod";
import { canonicalJson } from "../pipeline/core/hash.js";
import { anchorsAnswerSchema } from "../pipeline/anchors/parse.js";
import { generationRequest, judgeRequest, type EvalTemplate } from "../pipeline/eval/judge.js";
import { probabilityRequest } from "../pipeline/eval/probability-llm.js";
import type { LlmConfig } from "../pipeline/llm/config.js";
import { extractionRequest, type PromptTemplate } from "../pipeline/llm/prompts.js";
import { structuredOutput } from "../pipeline/llm/structured-output.js";

/** canonicalJson of each request's jsonSchema as the hand-written schemas gave it (commit b24cf4c). */
const PINNED = {
  anchors: "{\"name\":\"anchors\",\"schema\":{\"additionalProperties\":false,\"properties\":{\"anchors\":{\"items\":{\"additionalProperties\":false,\"properties\":{\"category\":{\"enum\":[\"person\",\"place\",\"creature\",\"object\",\"spell\",\"organisation\",\"event\",\"title\",\"other\"],\"type\":\"string\"},\"term\":{\"type\":\"string\"},\"translations\":{\"items\":{\"type\":\"string\"},\"type\":\"array\"}},\"required\":[\"term\",\"translations\",\"category\"],\"type\":\"object\"},\"type\":\"array\"}},\"required\":[\"anchors\"],\"type\":\"object\"}}",
  judge: "{\"name\":\"judgement\",\"schema\":{\"additionalProperties\":false,\"properties\":{\"reason\":{\"type\":\"string\"},\"score\":{\"enum\":[0,1,2,3],\"type\":\"integer\"}},\"required\":[\"score\",\"reason\"],\"type\":\"object\"}}",
  prompts: "{\"name\":\"prompts\",\"schema\":{\"additionalProperties\":false,\"properties\":{\"prompts\":{\"items\":{\"additionalProperties\":false,\"properties\":{\"prompt\":{\"type\":\"string\"},\"references\":{\"items\":{\"type\":\"string\"},\"type\":\"array\"},\"subtlety\":{\"maximum\":10,\"minimum\":1,\"type\":\"integer\"}},\"required\":[\"prompt\",\"references\",\"subtlety\"],\"type\":\"object\"},\"type\":\"array\"}},\"required\":[\"prompts\"],\"type\":\"object\"}}",
  probability: "{\"name\":\"probability_prompts\",\"schema\":{\"additionalProperties\":false,\"properties\":{\"prompts\":{\"items\":{\"additionalProperties\":false,\"properties\":{\"prompt\":{\"type\":\"string\"},\"term\":{\"type\":\"string\"}},\"required\":[\"prompt\",\"term\"],\"type\":\"object\"},\"type\":\"array\"}},\"required\":[\"prompts\"],\"type\":\"object\"}}",
};

const cfg = { structuredOutput: true, maxTokens: 9999, temperature: 0, model: "m" } as unknown as LlmConfig;
const evalT: EvalTemplate = { name: "familiarity-judge", system: "s", user: "u", hash: "h" };
const promptT: PromptTemplate = { name: "extraction", system: "s", user: "{{passage}}", hash: "h" };
const sent = {
  anchors: extractionRequest(promptT, "passage", cfg).jsonSchema!,
  judge: judgeRequest(evalT, { id: "f", prompt: "p", references: ["r"], source: "s" }, "c", cfg).jsonSchema!,
  prompts: generationRequest(evalT, "p", 3, cfg).jsonSchema!,
  probability: probabilityRequest(evalT, "p", ["a"], 3, cfg).jsonSchema!,
};

describe("structured-output schemas generated from zod", () => {
  it.each(Object.keys(PINNED) as (keyof typeof PINNED)[])("%s: the request carries the same schema as before (same cache key)", (k) => {
    expect(canonicalJson(sent[k])).toBe(PINNED[k]);
  });

  it.each(Object.keys(sent) as (keyof typeof sent)[])("%s: openai-node's strict conversion accepts it and changes nothing", (k) => {
    expect(toStrictJsonSchema(sent[k].schema as never)).toEqual(sent[k].schema);
  });

  it("the anchors schema is openai-node's zodResponseFormat of the same zod schema, less the validation-only keywords", () => {
    const theirs = zodResponseFormat(anchorsAnswerSchema, "anchors").json_schema;
    const drop = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(drop) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([key]) => !["$schema", "minLength", "maxLength", "minItems"].includes(key)).map(([key, x]) => [key, drop(x)])) : v;
    expect(theirs.strict).toBe(true);
    expect(drop(theirs.schema)).toEqual(sent.anchors.schema);
  });

  it("refuses what strict mode rejects, naming the field", () => {
    expect(() => structuredOutput("x", z.object({ a: z.string(), b: z.string().optional() }))).toThrow(/x: strict mode needs every property required; optional: b/);
    expect(() => structuredOutput("x", z.object({ a: z.looseObject({ c: z.string() }) }))).toThrow(/x\.a: objects must set additionalProperties: false/);
    expect(() => structuredOutput("x", z.object({ a: z.string().regex(/^a/) }))).toThrow(/x\.a: keyword "pattern"/);
    expect(() => structuredOutput("x", z.array(z.string()))).toThrow(/root must be an object/);
  });

  it("keeps enums and numeric bounds, and leaves string lengths and defaults to the validator", () => {
    const { schema } = structuredOutput("x", z.object({ n: z.number().int().min(1).max(10), e: z.enum(["a", "b"]), s: z.string().min(1).max(5).default("a") }));
    expect(schema).toEqual({
      type: "object",
      properties: { n: { type: "integer", minimum: 1, maximum: 10 }, e: { type: "string", enum: ["a", "b"] }, s: { type: "string" } },
      required: ["n", "e", "s"],
      additionalProperties: false,
    });
  });
});
