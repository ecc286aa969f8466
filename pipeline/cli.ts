/** `whp`: one entry point, one sub-command per stage, plus `run` (all stages), `init` and `inspect`. */
import { Command, CommanderError, Option } from "commander";
import { EXIT, formatError } from "./core/errors.js";
import { redact, redactBytes } from "./core/redact.js";
import { type CommonOptions, withCommon } from "./commands/common.js";
import { EXTRA_COMMANDS, STAGE_COMMANDS } from "./commands/index.js";
import { STAGE_CATALOG } from "./stages/catalog.js";
import { TOOL } from "./version.js";

/** Every action imports its implementation when it runs (commands/pipeline-run.ts and the modules of
 * commands/): building the command tree for `whp --help` loads commander and these few modules only. */
const actions = () => import("./commands/pipeline-run.js");

export function buildCli(): Command {
  const program = new Command("whp")
    .description("Builds Who's-Harry-Potter unlearning data: anchor dictionary -> aligned blocks -> generic labels -> fine-tuning JSONL.")
    .version(TOOL.version)
    .showHelpAfterError("(run `whp --help` for usage)");

  program
    .command("init")
    .description("write a commented configuration file to start from")
    .argument("[file]", "where to write it", "whp.config.yaml")
    .action(async (file: string) => (await actions()).initAction(file));

  withCommon(program.command("run").description("run every stage in order, skipping stages whose inputs are unchanged")).action(async (opts: CommonOptions) => (await actions()).runAll(opts));

  withCommon(program.command("check").description("validate the configuration and the files it names, without running anything"), { force: false }).action(async (opts: CommonOptions) => (await actions()).checkAction(opts));

  for (const stage of STAGE_CATALOG) {
    const cmd = withCommon(
      program
        .command(stage.name)
        .description(`${stage.summary} (reads: ${stage.reads.join(", ") || "config files"}; writes: ${stage.writes.join(", ")})`),
    );
    const own = STAGE_COMMANDS[stage.name];
    if (own) {
      own(cmd, stage);
      continue;
    }
    cmd.action(async (opts: CommonOptions) => (await actions()).stageAction(stage.name, opts));
  }

  withCommon(program.command("inspect").description("print one block: original text, translated text, and labels decoded side by side"), { force: false })
    .argument("<block-id>", 'e.g. "forget/01-chapter.txt#0"')
    .addOption(new Option("--rows <n>", "how many positions to show").default("60"))
    .action(async (blockId: string, opts: CommonOptions & { rows: string }) => (await actions()).inspectAction(blockId, opts));
  for (const register of EXTRA_COMMANDS) register(program);
  return program;
}

/** Routes everything the process prints through redact() while main() runs: commands print their
 * reports with process.stdout.write, and a server's echoed key must not reach the terminal. */
function redactOutput(): () => void {
  const restores = [process.stdout, process.stderr].map((stream) => {
    const write = stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      (write as (...a: unknown[]) => boolean).call(stream, typeof chunk === "string" ? redact(chunk) : chunk instanceof Uint8Array ? redactBytes(chunk) : chunk, ...rest)) as typeof stream.write;
    return () => {
      stream.write = write;
    };
  });
  return () => restores.forEach((r) => r());
}

/** Runs one command and returns its exit code: the only place that decides it (see core/errors.ts). */
export async function main(argv: string[]): Promise<number> {
  const restoreOutput = redactOutput();
  try {
    const program = buildCli();
    // Commander would call process.exit itself; let its errors come back here instead.
    program.exitOverride();
    for (const cmd of program.commands) cmd.exitOverride();
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end with code 0; a bad option or command is a user error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.userError;
    }
    const { text, exitCode } = formatError(err);
    process.stderr.write(`${text}\n`);
    return exitCode;
  } finally {
    restoreOutput();
  }
}
