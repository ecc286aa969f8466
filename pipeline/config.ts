import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { UserError } from "./core/errors.js";
import { exportConfigSchema } from "./export/config.js";
import { llmConfigSchema } from "./llm/config.js";
import { LOGIT_PROVIDERS, modelSpecSchema, servedModelSpecSchema } from "./models/registry.js";

/** Config file format version: bump when a field changes meaning. */
export const CONFIG_VERSION = 1;

const pathList = z.array(z.string().min(1)).min(1, "list at least one file or directory");

export const configSchema = z
  .object({
    version: z.literal(CONFIG_VERSION, { message: `write "version: ${CONFIG_VERSION}"` }),
    run: z
      .object({
        name: z.string().regex(/^[A-Za-z0-9._-]+$/, "use letters, digits, '.', '_' or '-'"),
        outDir: z.string().optional(),
      })
      .strict(),
    corpus: z
      .object({
        forget: pathList,
        general: z.array(z.string().min(1)).default([]),
        extensions: z.array(z.string().regex(/^\.[A-Za-z0-9]+$/)).default([".txt"]),
      })
      .strict(),
    tokenizer: z.string().min(1),
    dictionary: z.string().min(1),
    blockSize: z.number().int().min(8, "blocks shorter than 8 tokens hold no context").max(1_048_576),
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    alpha: z.number().positive(),
    alphaVariants: z.array(z.number().positive()).optional(),
    logits: z
      .object({
        topK: z.union([z.number().int().min(1), z.literal("full")]).default(20),
        chunkBlocks: z.number().int().min(1).default(8),
      })
      .strict()
      .default({ topK: 20, chunkBlocks: 8 }),
    models: z
      .object({
        baseline: modelSpecSchema,
        reinforced: modelSpecSchema,
        oracle: modelSpecSchema.optional(),
      })
      .strict(),
    /** Served models `whp eval --model <name>` can score besides the sandbox's (e.g. the fine-tuned
     * model), keyed by the name their scores file gets. */
    evalModels: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "use letters, digits, '.', '_' or '-' (it names a file)"), servedModelSpecSchema).optional(),
    llm: llmConfigSchema.optional(),
    export: exportConfigSchema,
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;

/** The config with every path made absolute, defaults applied, and the derived values fixed. */
export interface ResolvedConfig extends Config {
  configPath: string;
  baseDir: string;
  runDir: string;
  alphas: number[];
}

/** Resolves a path written in the config relative to the config file's folder. */
export function resolveFrom(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

export async function loadConfig(path: string, overrides: Record<string, unknown> = {}): Promise<ResolvedConfig> {
  const configPath = resolve(path);
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch {
    throw new UserError(`config file not found: ${configPath}`, "pass --config <file>, or create one with `whp init`");
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? ` at line ${e.linePos[0].line}` : "";
    throw new UserError(`${configPath}${where} is not valid YAML: ${(e as Error).message.split("\n")[0]}`, "fix the YAML syntax");
  }
  for (const [key, value] of Object.entries(overrides)) setPath(raw, key, value);
  return validateConfig(raw, configPath, overrides);
}

/** The --set override a validation issue comes from, if any: its key is the issue's path or a prefix. */
function overrideOf(path: readonly PropertyKey[], overrides: Record<string, unknown>): string | undefined {
  const dotted = path.map(String).join(".");
  return Object.keys(overrides).find((k) => dotted === k || dotted.startsWith(`${k}.`) || k.startsWith(`${dotted}.`));
}

export function validateConfig(raw: unknown, configPath: string, overrides: Record<string, unknown> = {}): ResolvedConfig {
  const parsed = configSchema.safeParse(raw, {
    // A missing field is the most common mistake: say so and say what to add, instead of zod's
    // "expected number, received undefined".
    error: (issue) =>
      issue.code === "invalid_type" && issue.input === undefined
        ? `required: add it (${issue.expected}); \`whp init\` writes a commented example`
        : undefined,
  });
  if (!parsed.success) {
    // A value given with --set is the command line's mistake, not the file's: name the flag.
    const fromSet = parsed.error.issues.filter((i) => overrideOf(i.path, overrides) !== undefined);
    if (fromSet.length) {
      const lines = fromSet.map((i) => {
        const key = overrideOf(i.path, overrides) as string;
        const where = i.path.map(String).join(".");
        return `--set ${key}${where !== key ? ` (${where})` : ""}: ${i.message}, got ${JSON.stringify(overrides[key])}`;
      });
      const listIssue = fromSet.find((i) => i.code === "invalid_type" && i.expected === "array");
      const wantsList = listIssue !== undefined;
      const key = overrideOf((listIssue ?? fromSet[0]).path, overrides) as string;
      // The hint is the user's own items in the working form: hf,text -> ["hf","text"].
      const items = String(overrides[key]).split(",").map((x) => x.trim()).filter(Boolean);
      const example = items.length ? items : ["a", "b"];
      throw new UserError(lines.join("\n"), wantsList ? `write a list as --set '${key}=${JSON.stringify(example)}' (JSON, quoted for the shell) or --set ${key}=[${example.join(",")}]` : `correct the value after --set ${key}=`);
    }
    throw new UserError(`${configPath} has errors:\n${z.prettifyError(parsed.error)}`, "correct the fields listed above (see `whp init` for a commented example)");
  }
  const cfg = parsed.data;
  const baseDir = dirname(configPath);
  const abs = (p: string) => resolveFrom(baseDir, p);
  return {
    ...cfg,
    configPath,
    baseDir,
    corpus: { ...cfg.corpus, forget: cfg.corpus.forget.map(abs), general: cfg.corpus.general.map(abs) },
    tokenizer: abs(cfg.tokenizer),
    dictionary: abs(cfg.dictionary),
    runDir: abs(cfg.run.outDir ?? `out/${cfg.run.name}`),
    alphas: [cfg.alpha, ...(cfg.alphaVariants ?? [cfg.alpha / 2, cfg.alpha * 2])],
  };
}

/** Applies a CLI override such as `logits.topK=50` to the raw config before validation. */
export function setPath(target: unknown, dotted: string, value: unknown): void {
  if (!target || typeof target !== "object") throw new UserError("the config file is empty", "start from `whp init`");
  const keys = dotted.split(".");
  let node = target as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    if (!node[key] || typeof node[key] !== "object") node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

/** Parses `--set a.b=value` strings: numbers and true/false/"full" become typed values. */
export function parseOverride(text: string): [string, unknown] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UserError(`--set expects key=value, got "${text}"`, "write e.g. --set logits.topK=50");
  const key = text.slice(0, eq).trim();
  const rawValue = text.slice(eq + 1).trim();
  let value: unknown = parseScalar(rawValue);
  if (rawValue.startsWith("[")) {
    try {
      value = JSON.parse(rawValue);
    } catch {
      // `[hf,text]`: the shell already took the quotes a JSON list would need, so take bare items.
      const inner = rawValue.match(/^\[(.*)\]$/s)?.[1];
      if (inner === undefined || /["'\[\]{}]/.test(inner)) throw new UserError(`--set ${key}: "${rawValue}" is not a list`, `write e.g. --set ${key}=[hf,text] or --set '${key}=["hf","text"]'`);
      value = inner.trim() === "" ? [] : inner.split(",").map((item) => parseScalar(item.trim()));
    }
  }
  return [key, value];
}

/** Numbers and true/false become typed values; anything else stays a string. */
function parseScalar(text: string): unknown {
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  return text;
}

/** The config as it goes into manifests: paths relative to the config folder, nothing secret. */
export function publicConfig(cfg: ResolvedConfig): Record<string, unknown> {
  const { configPath: _c, baseDir: _b, runDir: _r, ...rest } = cfg;
  return redactSecrets(relativizePaths(rest, cfg.baseDir)) as Record<string, unknown>;
}

/** A JSON copy of `value` with every absolute path written relative to `base`: what manifests record
 * and what stage fingerprints hash, so the same run is the same bytes in any checkout. */
export function relativizePaths(value: unknown, base: string): unknown {
  return JSON.parse(JSON.stringify(value ?? null, (_k, v) => (typeof v === "string" && isAbsolute(v) ? relativeTo(base, v) : v)));
}

/** Paths outside the config folder become "../..." too: an absolute path in a manifest would make
 * the same run differ between two checkouts. */
function relativeTo(base: string, p: string): string {
  return relative(base, p) || ".";
}

// Anchored at the end so "tokenizer" or "maxTokens" stay, while "apiKey" or "hfToken" go.
const SECRET_KEY = /(api[_-]?key|apikey|token|secret|password|authorization)$/i;

/** Drops every field whose name says it holds a secret, at any depth. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? "[redacted]" : redactSecrets(v);
    return out;
  }
  return value;
}

export { LOGIT_PROVIDERS };
