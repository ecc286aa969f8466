/**
 * The closed set of logit providers. The union type comes from the const list, implementations live in
 * a Record keyed by it, so adding a name without an implementation (or the reverse) fails to compile.
 */
import { z } from "zod";
import { UserError } from "../core/errors.js";
import type { LogitSource } from "../core/rows.js";
import { AnswerCache } from "./answer-cache.js";
import { RowsCache } from "./cache.js";
import { trainKneserNey } from "./ngram.js";
import { SglangSource, sglangModelSchema } from "./sglang.js";
import type { ServedLogitSource } from "./preflight.js";
import { type SourceDeps, VllmSource, vllmModelSchema } from "./vllm.js";

export const LOGIT_PROVIDERS = ["ngram", "vllm", "sglang"] as const;
export type LogitProviderName = (typeof LOGIT_PROVIDERS)[number];

/** The three roles a model plays in the method. */
export const MODEL_ROLES = ["baseline", "reinforced", "oracle"] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];

export const ngramModelSchema = z
  .object({
    provider: z.literal("ngram"),
    order: z.number().int().min(1).max(8).default(4),
    /** How many times the general corpus counts (0 leaves it out). */
    generalWeight: z.number().int().min(0).default(1),
    /** How many times the forget corpus counts: 1 = a model that read it once, more = reinforced,
     * 0 = a model that never saw it (the oracle). */
    forgetWeight: z.number().int().min(0).default(1),
    maxModelLen: z.number().int().positive().optional(),
  })
  .strict();

export type NgramModelSpec = z.output<typeof ngramModelSchema>;

/** Any model entry under `models:` in the config, told apart by `provider`. */
export const modelSpecSchema = z.discriminatedUnion("provider", [ngramModelSchema, vllmModelSchema, sglangModelSchema], {
  error: (issue) => (issue.code === "invalid_union" ? `unknown provider; known providers: ${LOGIT_PROVIDERS.join(", ")}` : undefined),
});
export type ModelSpec = z.output<typeof modelSpecSchema>;

/** The providers that reach a model over HTTP: what `evalModels:` entries may use. */
export const SERVED_PROVIDERS = ["vllm", "sglang"] as const satisfies readonly LogitProviderName[];
export const servedModelSpecSchema = z.discriminatedUnion("provider", [vllmModelSchema, sglangModelSchema], {
  error: (issue) => (issue.code === "invalid_union" ? `unknown provider; evaluated models are served by one of: ${SERVED_PROVIDERS.join(", ")}` : undefined),
});
export type ServedModelSpec = z.output<typeof servedModelSpecSchema>;

/** What providers may draw on to build themselves. The embedded n-gram trains on the run's own token
 * blocks; network providers (added later) ignore these. */
export interface ProviderEnv {
  role: ModelRole;
  vocabSize: number;
  /** Token blocks of the general corpus and of the forget corpus (each starts with the BOS ids). */
  generalBlocks: () => Promise<readonly (readonly number[])[]>;
  forgetBlocks: () => Promise<readonly (readonly number[])[]>;
  /** Hash of the training data, for the model's identity. */
  dataHash: string;
  /** Where served providers cache responses (absent: no cache). */
  cacheDir?: string;
  warn?: (message: string) => void;
}

interface ProviderImpl<S> {
  create(spec: S, env: ProviderEnv): Promise<LogitSource>;
}

const providers: { [K in LogitProviderName]: ProviderImpl<Extract<ModelSpec, { provider: K }>> } = {
  ngram: {
    async create(spec, env) {
      const sequences = [];
      if (spec.generalWeight > 0) for (const tokens of await env.generalBlocks()) sequences.push({ tokens, weight: spec.generalWeight });
      if (spec.forgetWeight > 0) for (const tokens of await env.forgetBlocks()) sequences.push({ tokens, weight: spec.forgetWeight });
      if (sequences.length === 0) {
        throw new UserError(`models.${env.role}: generalWeight and forgetWeight are both 0, so the n-gram has nothing to learn from`, "give one of them a positive weight");
      }
      return trainKneserNey(sequences, {
        order: spec.order,
        vocabSize: env.vocabSize,
        name: `${env.role}:${env.dataHash.slice(0, 12)}:g${spec.generalWeight}f${spec.forgetWeight}`,
        maxModelLen: spec.maxModelLen,
      });
    },
  },
  vllm: {
    async create(spec, env) {
      return createServedSource(spec, env);
    },
  },
  sglang: {
    async create(spec, env) {
      return createServedSource(spec, env);
    },
  },
};

type ServedProviderName = (typeof SERVED_PROVIDERS)[number];
const servedProviders: { [K in ServedProviderName]: (spec: Extract<ServedModelSpec, { provider: K }>, deps: SourceDeps) => ServedLogitSource } = {
  vllm: (spec, deps) => new VllmSource(spec, deps),
  sglang: (spec, deps) => new SglangSource(spec, deps),
};

/** What a served source needs besides its spec; `section` is the config section naming it. */
export interface ServedEnv {
  role: string;
  section?: string;
  vocabSize: number;
  cacheDir?: string;
  warn?: (message: string) => void;
}

export function createServedSource(spec: ServedModelSpec, env: ServedEnv): ServedLogitSource {
  const cache = env.cacheDir ? new RowsCache(`${env.cacheDir}/${spec.provider}`, env.warn) : undefined;
  const answers = env.cacheDir ? new AnswerCache(`${env.cacheDir}/${spec.provider}-answers`, env.warn) : undefined;
  const deps: SourceDeps = { vocabSize: env.vocabSize, role: env.role, section: env.section, cache, answers, warn: env.warn };
  return (servedProviders[spec.provider] as (s: ServedModelSpec, d: SourceDeps) => ServedLogitSource)(spec, deps);
}

export async function createLogitSource(spec: ModelSpec, env: ProviderEnv): Promise<LogitSource> {
  const impl = providers[spec.provider as LogitProviderName];
  if (!impl) throw new UserError(`models.${env.role}.provider: unknown provider "${spec.provider}"`, `use one of: ${LOGIT_PROVIDERS.join(", ")}`);
  return (impl as ProviderImpl<ModelSpec>).create(spec, env);
}
