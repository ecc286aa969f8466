/**
 * Which model a `whp eval --model <name>` names, and how to reach it:
 * - a name under `evalModels:` in the config: that served model;
 * - baseline / reinforced / oracle: the run's own model, in the sandbox when it is an embedded n-gram,
 *   over HTTP when the config serves it; `unlearned`: the sandbox's (the baseline trained on the
 *   emitted labels) unless `evalModels` names a served one;
 * - `<name>=<url>[#<served model>]` or `<name>=sglang:<url>`: a served model given on the command line
 *   (vLLM's OpenAI-compatible server unless prefixed; without #model, the one model the server lists).
 */
import { z } from "zod";
import type { ResolvedConfig } from "../config.js";
import { UserError } from "../core/errors.js";
import { withRetry } from "../models/http-retry.js";
import { transportFor } from "../models/transport.js";
import { parseJsonBody } from "../models/transport-error.js";
import { SERVED_PROVIDERS, type ServedModelSpec, servedModelSpecSchema } from "../models/registry.js";
import { retryPolicy } from "../models/vllm.js";
import { EVAL_MODELS, type EvalModelName } from "./sandbox.js";

export type EvalTarget = { name: EvalModelName; kind: "sandbox" } | { name: string; kind: "served"; spec: ServedModelSpec; section: string };

const NAME = /^[A-Za-z0-9_.-]+$/;

export interface InlineModel {
  name: string;
  provider: (typeof SERVED_PROVIDERS)[number];
  url: string;
  model?: string;
}

/** Parses `<name>=[sglang:]<url>[#<model>]`; undefined when `arg` has no "=". Pure. */
export function parseInlineModel(arg: string): InlineModel | undefined {
  const eq = arg.indexOf("=");
  if (eq < 0) return undefined;
  const name = arg.slice(0, eq);
  let rest = arg.slice(eq + 1);
  const fix = "write it as <name>=http://host:port (vLLM), <name>=http://host:port#<served model name>, or <name>=sglang:http://host:port";
  if (!NAME.test(name)) throw new UserError(`--model ${arg}: "${name}" cannot name a scores file`, `use letters, digits, '.', '_' or '-'; ${fix}`);
  let provider: InlineModel["provider"] = "vllm";
  for (const p of SERVED_PROVIDERS) {
    if (rest.startsWith(`${p}:`) && !rest.startsWith(`${p}://`)) {
      provider = p;
      rest = rest.slice(p.length + 1);
    }
  }
  const hash = rest.indexOf("#");
  const url = hash < 0 ? rest : rest.slice(0, hash);
  const model = hash < 0 ? undefined : rest.slice(hash + 1);
  if (!/^https?:\/\/[^/]/.test(url)) throw new UserError(`--model ${arg}: "${url}" is not an http(s) URL`, fix);
  if (model === "") throw new UserError(`--model ${arg}: empty model name after #`, fix);
  return { name, provider, url: url.replace(/\/+$/, ""), ...(model ? { model } : {}) };
}

/** The served model name when the command line left it out: the one model the server lists. */
async function discoverModel(m: InlineModel): Promise<string> {
  const policy = retryPolicy({ attempts: 3, timeoutSeconds: 30 });
  const path = m.provider === "vllm" ? "/v1/models" : "/get_model_info";
  // One request through the server's shared pool, claiming no concurrency of its own.
  const transport = transportFor(m.url);
  const body = await withRetry(async () => parseJsonBody((await transport.request({ path, timeoutMs: policy.timeoutMs })).body, path), policy).catch((e: unknown) => {
    throw new UserError(`--model ${m.name}: cannot reach ${m.url}${path} (${(e as Error).message})`, "start the server, or fix the URL");
  });
  if (m.provider === "sglang") {
    // An SGLang server serves one model; its path only labels the scores and the cache key.
    const info = z.object({ model_path: z.string() }).loose().safeParse(body);
    return info.success ? info.data.model_path : m.name;
  }
  const listed = z.object({ data: z.array(z.object({ id: z.string() }).loose()) }).safeParse(body);
  if (!listed.success) throw new UserError(`--model ${m.name}: ${m.url}/v1/models did not answer in the OpenAI format`, "point it at a vLLM server's root (no /v1)");
  const ids = listed.data.data.map((d) => d.id);
  if (ids.length !== 1) throw new UserError(`--model ${m.name}: ${m.url} serves ${ids.length} models (${ids.join(", ")})`, `name one: ${m.name}=${m.url}#<model>`);
  return ids[0];
}

function fromConfig(config: ResolvedConfig, name: string): EvalTarget | undefined {
  const served = config.evalModels?.[name];
  if (served) return { name, kind: "served", spec: served, section: "evalModels" };
  if (!(EVAL_MODELS as readonly string[]).includes(name)) return undefined;
  const role = name as EvalModelName;
  if (role !== "unlearned") {
    const spec = config.models[role];
    if (spec && spec.provider !== "ngram") return { name, kind: "served", spec, section: "models" };
  }
  return { name: role, kind: "sandbox" };
}

/** What a bare `whp eval` scores: the sandbox's four models when the run's models are embedded
 * n-grams, else the run's served baseline, reinforced (and oracle, when configured); then every
 * `evalModels:` entry. (An unlearned model exists in the sandbox only; a served one is named.) */
export function defaultModelNames(config: ResolvedConfig): string[] {
  const own = config.models.baseline.provider === "ngram" ? [...EVAL_MODELS] : ["baseline", "reinforced", ...(config.models.oracle ? ["oracle"] : [])];
  return [...new Set([...own, ...Object.keys(config.evalModels ?? {})])];
}

export async function resolveTargets(config: ResolvedConfig, args: readonly string[]): Promise<EvalTarget[]> {
  const out: EvalTarget[] = [];
  for (const arg of args) {
    const inline = parseInlineModel(arg);
    let target: EvalTarget | undefined;
    if (inline) {
      const model = inline.model ?? (await discoverModel(inline));
      const spec = servedModelSpecSchema.parse({ provider: inline.provider, model, urls: [inline.url] });
      target = { name: inline.name, kind: "served", spec, section: "--model" };
    } else target = fromConfig(config, arg);
    if (!target) {
      const known = [...EVAL_MODELS, ...Object.keys(config.evalModels ?? {})];
      throw new UserError(`--model: unknown model "${arg}"`, `use one of: ${known.join(", ")}, a name added under evalModels: in the config, or <name>=http://host:port for a served model`);
    }
    if (out.some((t) => t.name === target.name)) throw new UserError(`--model: "${target.name}" is named twice`, "give each model its own name");
    out.push(target);
  }
  return out;
}
