import { z } from "zod";

/** The `export:` section of the run config (dataset formats for trainers). */
export const exportConfigSchema = z.object({}).strict().default({});
