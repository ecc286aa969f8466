import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseOverride, publicConfig, redactSecrets, validateConfig } from "../pipeline/config.js";
import { UserError } from "../pipeline/core/errors.js";
import { TOOL } from "../pipeline/version.js";

async function template(): Promise<Record<string, unknown>> {
  return parse(await readFile("templates/whp.config.yaml", "utf8"));
}

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a UserError");
}

describe("config", () => {
  it("the template written by `whp init` is valid and resolves paths next to the config file", async () => {
    const cfg = validateConfig(await template(), "/proj/whp.config.yaml");
    expect(cfg.tokenizer).toBe("/proj/tokenizer.json");
    expect(cfg.runDir).toBe("/proj/out/my-run");
    expect(cfg.alphas).toEqual([5, 2.5, 10]);
    expect(cfg.logits).toEqual({ topK: 20, chunkBlocks: 8 });
  });

  it("lists every error at once, each with its field", async () => {
    const raw = await template();
    raw.blockSize = 3;
    raw.alpha = -1;
    (raw.models as Record<string, Record<string, unknown>>).baseline.provider = "gpt5";
    delete (raw as Record<string, unknown>).seed;
    const e = errorOf(() => validateConfig(raw, "c.yaml"));
    expect(e.message).toContain("blockSize");
    expect(e.message).toContain("alpha");
    expect(e.message).toMatch(/required: add it \(number\)[^\n]*\n\s*→ at seed/);
    expect(e.message).toMatch(/known providers: ngram, vllm, sglang\s*→ at models\.baseline\.provider/);
  });

  it("rejects unknown fields instead of ignoring a typo", async () => {
    const raw = await template();
    raw.blocksize = 256;
    expect(errorOf(() => validateConfig(raw, "c.yaml")).message).toContain("blocksize");
  });

  it("parses --set overrides into typed values", () => {
    expect(parseOverride("logits.topK=50")).toEqual(["logits.topK", 50]);
    expect(parseOverride("logits.topK=full")).toEqual(["logits.topK", "full"]);
    expect(parseOverride("alphaVariants=[2,8]")).toEqual(["alphaVariants", [2, 8]]);
    expect(() => parseOverride("seed")).toThrow(UserError);
  });

  it("keeps secrets out of what it writes", () => {
    expect(redactSecrets({ tokenizer: "t.json", models: { a: { apiKey: "sk-1", hfToken: "hf_x", maxTokens: 5 } } })).toEqual({
      tokenizer: "t.json",
      models: { a: { apiKey: "[redacted]", hfToken: "[redacted]", maxTokens: 5 } },
    });
  });

  it("writes paths relative to the config folder in manifests", async () => {
    const cfg = validateConfig(await template(), "/proj/whp.config.yaml");
    const pub = publicConfig(cfg);
    expect(pub.tokenizer).toBe("tokenizer.json");
    const outside = publicConfig(validateConfig({ ...(await template()), dictionary: "../anchors/x.csv" }, "/proj/demo/whp.config.yaml"));
    expect(outside.dictionary).toBe("../anchors/x.csv"); // never an absolute path
    expect(pub).not.toHaveProperty("runDir");
  });

  it("TOOL.version matches package.json", async () => {
    expect(JSON.parse(await readFile("package.json", "utf8")).version).toBe(TOOL.version);
  });
});
