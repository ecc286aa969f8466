/** The options every config-driven command shares, and turning them into a config and a logger. One
 * place, so `--log-format` or a new global flag reaches every command alike. */
import { Option, type Command } from "commander";
import type { ResolvedConfig } from "../config.js";
import { createLogger, LOG_FORMATS, type LogFormat, type Logger } from "../io/log.js";
import { registerSecretEnv } from "../core/redact.js";

export interface CommonOptions {
  config: string;
  set: string[];
  quiet?: boolean;
  logFormat?: LogFormat;
  force?: boolean;
  verify?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds --config, --set, --quiet and --log-format (and --force and --verify for commands that can skip work). */
export function withCommon(cmd: Command, opts: { force?: boolean } = { force: true }): Command {
  cmd
    .option("-c, --config <file>", "run configuration (YAML)", "whp.config.yaml")
    .option("--set <key=value>", "override one config value, e.g. --set logits.topK=50 (repeatable)", collect, [])
    .option("-q, --quiet", "print only warnings, errors and the final summary")
    .addOption(new Option("--log-format <format>", "stderr log lines: text, or json (one object per line)").choices(LOG_FORMATS).default("text"));
  if (opts.force) {
    cmd.option("-f, --force", "re-run even when inputs and config are unchanged");
    cmd.option("--verify", "re-hash every input and output to decide what is unchanged, instead of trusting files whose size and mtime have not moved since they were last hashed");
  }
  return cmd;
}

export async function setup(opts: CommonOptions): Promise<{ config: ResolvedConfig; log: Logger }> {
  // Imported here, not at the top: the config schemas (zod, yaml) are not needed for `whp --help`.
  const { loadConfig, parseOverride } = await import("../config.js");
  const config = await loadConfig(opts.config, Object.fromEntries(opts.set.map(parseOverride)));
  registerKeyVariables(config);
  return { config, log: createLogger({ quiet: opts.quiet, format: opts.logFormat }) };
}

/** Every variable the config names as holding a key (`apiKeyEnv` of any model) becomes a secret to
 * redact, whatever its name (core/redact.ts). */
export function registerKeyVariables(value: unknown): void {
  if (Array.isArray(value)) value.forEach(registerKeyVariables);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (/Env$/.test(k) && /key|token|secret/i.test(k) && typeof v === "string") registerSecretEnv(v);
      else registerKeyVariables(v);
    }
  }
}
