/**
 * What `whp --help` shows of each stage (name, summary, reads, writes), in pipeline order, in a module
 * that imports nothing: the stage modules themselves pull in the tokenizer, the model providers and
 * their SDKs, which a help screen or a typo must not wait for (issue 17, startup under 0.25 s). The
 * CLI registers every stage command from this list and imports the stage only when its command runs.
 * Each stage takes these fields from here (stageInfo), so there is one copy of them.
 */
import type { Stage } from "../stage.js";

export type StageInfo = Pick<Stage, "name" | "summary" | "reads" | "writes">;

export const STAGE_CATALOG: readonly StageInfo[] = [
  { name: "ingest", summary: "read and validate the corpus files", reads: [], writes: ["documents", "generalDocuments"] },
  { name: "tokenize", summary: "tokenize each document once and cut it into blocks", reads: ["documents", "generalDocuments"], writes: ["blocks", "generalBlocks"] },
  { name: "dictionary", summary: "load and check the anchor dictionary", reads: [], writes: ["dictionary"] },
  { name: "translate", summary: "find anchors, draw translations, align positions", reads: ["documents", "blocks", "dictionary"], writes: ["aligned"] },
  {
    name: "labels",
    summary: "query the reinforced and baseline models and combine their logits into generic labels",
    reads: ["blocks", "generalBlocks", "aligned"],
    writes: ["labels", "labelsMeta", "labelsUncertainty"],
  },
  {
    name: "export",
    summary: "write train.jsonl, manifest.json and the dataset folder for trainers",
    reads: ["documents", "blocks", "dictionary", "aligned", "labels", "labelsMeta", "labelsUncertainty"],
    // datasetManifest stands for the whole dataset/ folder (its manifest hashes every file there).
    writes: ["train", "manifest", "datasetManifest"],
  },
];

/** A stage's catalog entry, spread into the stage's own definition. */
export function stageInfo(name: string): StageInfo {
  const info = STAGE_CATALOG.find((s) => s.name === name);
  if (!info) throw new Error(`no stage "${name}" in stages/catalog.ts`);
  return info;
}
