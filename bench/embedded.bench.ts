/**
 * The embedded default's own cost per position (issue 17, item 7), next to the combination's: on the
 * demo's blocks, CPU time to train the baseline and reinforced n-grams (per training token) and to
 * search their top-k rows (per queried position: the reinforced model over the original blocks, the
 * baseline over the translated ones, as the labels stage asks them). Training goes through
 * trainKneserNey with the sequences and weights models/registry.ts builds from the config; the search
 * is the model's own rows() call, the one the labels stage makes.
 */
import { readJsonlAll } from "../pipeline/io/artifacts.js";
import { trainKneserNey, type NgramModel } from "../pipeline/models/ngram.js";
import type { StageContext } from "../pipeline/stage.js";
import { blockSchema, generalBlockSchema } from "../pipeline/schemas/blocks.js";
import { alignedSchema } from "../pipeline/schemas/aligned.js";

const cpuMs = (t0: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
};

export interface EmbeddedResult {
  /** CPU µs per training token (both models: weighted sequences counted once per model). */
  trainUsPerToken: number;
  trainTokens: number;
  /** The same training CPU spread over the queried positions (what it adds to each label). */
  trainUsPerPosition: number;
  /** CPU µs per queried position, top-k search of both models together (one position = one label). */
  searchUsPerPosition: number;
  positions: number;
  topK: number | "full";
}

export async function benchEmbedded(ctx: StageContext): Promise<EmbeddedResult | undefined> {
  const { models, logits } = ctx.config;
  const specs = [models.baseline, models.reinforced];
  if (specs.some((s) => s.provider !== "ngram")) return undefined;
  const forget = (await readJsonlAll(ctx.path("blocks"), blockSchema)).map((b) => b.input_ids);
  const general = (await readJsonlAll(ctx.path("generalBlocks"), generalBlockSchema)).map((b) => b.input_ids);
  const translated = (await readJsonlAll(ctx.path("aligned"), alignedSchema)).map((a) => a.translated_ids);
  const vocabSize = (await ctx.tokenizer()).info.vocabSize;
  const trained: NgramModel[] = [];
  let trainTokens = 0;
  const t0 = process.cpuUsage();
  for (const [i, spec] of specs.entries()) {
    if (spec.provider !== "ngram") continue;
    const sequences = [];
    if (spec.generalWeight > 0) for (const tokens of general) sequences.push({ tokens, weight: spec.generalWeight });
    if (spec.forgetWeight > 0) for (const tokens of forget) sequences.push({ tokens, weight: spec.forgetWeight });
    trainTokens += sequences.reduce((n, s) => n + s.tokens.length, 0);
    trained.push(trainKneserNey(sequences, { order: spec.order, vocabSize, name: `bench-${i}` }));
  }
  const trainMs = cpuMs(t0);
  const [baseline, reinforced] = trained;
  let positions = 0;
  const t1 = process.cpuUsage();
  for (let i = 0; i < forget.length; i++) {
    await reinforced.rows(forget[i], { topK: logits.topK });
    await baseline.rows(translated[i], { topK: logits.topK });
    positions += forget[i].length;
  }
  const searchMs = cpuMs(t1);
  return { trainUsPerToken: (1000 * trainMs) / trainTokens, trainTokens, trainUsPerPosition: (1000 * trainMs) / positions, searchUsPerPosition: (1000 * searchMs) / positions, positions, topK: logits.topK };
}

export function printEmbedded(r: EmbeddedResult | undefined, combineUsPerPosition: number): void {
  if (!r) {
    console.log("embedded default: the demo config's models are not n-grams, nothing to measure");
    return;
  }
  console.log(
    `embedded default (n-gram) per position, CPU: top-${r.topK} search ${r.searchUsPerPosition.toFixed(2)} µs (both models, ${r.positions.toLocaleString("en-US")} positions), training ${r.trainUsPerPosition.toFixed(2)} µs (${r.trainUsPerToken.toFixed(2)} µs per training token, ${r.trainTokens.toLocaleString("en-US")} tokens, both models); combination ${combineUsPerPosition.toFixed(2)} µs per position (one core, CPU)`,
  );
}
