/**
 * The closed set of logit providers. The union type comes from the const list, implementations live in
 * a Record keyed by it, so adding a name without an implementation (or the reverse) fails to compile.
 */
import { z } from "zod";
import { UserError } from "../core/errors.js";
import type { LogitSource } from "../core/rows.js";
import { RowsCache } from "./cache.js";
import { trainKneserNey } from "./ngram.js";
import { SglangSource, sglangModelSchema } from "./sglang.js";
import { VllmSource, vllmModelSchema } from "./vllm.js";

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
      return new VllmSource(spec, servedDeps(spec.provider, env));
    },
  },
  sglang: {
    async create(spec, env) {
      return new SglangSource(spec, servedDeps(spec.provider, env));
    },
  },
};

function servedDeps(provider: string, env: ProviderEnv) {
  const cache = env.cacheDir ? new RowsCache(`${env.cacheDir}/${provider}`, env.warn) : undefined;
  return { vocabSize: env.vocabSize, role: env.role, cache, warn: env.warn };
}

export async function createLogitSource(spec: ModelSpec, env: ProviderEnv): Promise<LogitSource> {
  const impl = providers[spec.provider as LogitProviderName];
  if (!impl) throw new UserError(`models.${env.role}.provider: unknown provider "${spec.provider}"`, `use one of: ${LOGIT_PROVIDERS.join(", ")}`);
  return (impl as ProviderImpl<ModelSpec>).create(spec, env);
}
