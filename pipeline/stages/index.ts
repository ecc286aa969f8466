import type { Stage } from "../stage.js";
import { dictionaryStage } from "./dictionary.js";
import { exportStage } from "./export.js";
import { ingestStage } from "./ingest.js";
import { labelsStage } from "./labels.js";
import { tokenizeStage } from "./tokenize.js";
import { translateStage } from "./translate.js";

/** The pipeline, in order. */
export const STAGES: readonly Stage[] = [ingestStage, tokenizeStage, dictionaryStage, translateStage, labelsStage, exportStage];
