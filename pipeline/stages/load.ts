/** Loads a stage module only when its command runs (stages/catalog.ts holds what help needs). Kept
 * apart from the catalog, which every stage imports, so the catalog does not reach the stages. */
import type { Stage } from "../stage.js";

/** The stage itself, imported when its command runs. */
export async function loadStage(name: string): Promise<Stage> {
  const { STAGES } = await import("./index.js");
  const stage = STAGES.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage "${name}" in STAGES (stages/catalog.ts lists it)`);
  return stage;
}
