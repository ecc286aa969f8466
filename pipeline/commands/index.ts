import type { Command } from "commander";

/**
 * Commands beyond the pipeline stages (anchor extraction, export formats, model servers...). Each
 * feature owns one module exporting `register(program)`; the CLI calls them in this order.
 */
export const EXTRA_COMMANDS: readonly ((program: Command) => void)[] = [];
