/**
 * Export commands: `--format` on the `export` stage command, and `whp verify <dir>`.
 * `--format hf,text` is sugar for `--set export.formats=["hf","text"]`, so the choice goes through the
 * same validation and into the stage's fingerprint like any other config value.
 */
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { UserError } from "../core/errors.js";
import { EXPORT_FORMATS } from "../export/format-names.js";

export function parseFormats(text: string): string[] {
  const formats = text.split(",").map((f) => f.trim()).filter(Boolean);
  const unknown = formats.filter((f) => !(EXPORT_FORMATS as readonly string[]).includes(f));
  if (unknown.length || formats.length === 0) {
    throw new UserError(`unknown export format(s): ${unknown.join(", ") || "(none given)"}`, `use one or more of ${EXPORT_FORMATS.join(", ")}, comma-separated (e.g. --format hf,text)`);
  }
  return formats;
}

export function register(program: Command): void {
  const exportCmd = program.commands.find((c) => c.name() === "export");
  if (exportCmd) {
    exportCmd.addOption(new Option("--format <formats>", `dataset layout(s) under <run>/dataset/, comma-separated: ${EXPORT_FORMATS.join(", ")} (default: the config's export.formats, hf)`));
    exportCmd.hook("preAction", (cmd) => {
      const format = cmd.opts().format as string | undefined;
      if (format === undefined) return;
      const set = (cmd.opts().set as string[] | undefined) ?? [];
      cmd.setOptionValue("set", [...set, `export.formats=${JSON.stringify(parseFormats(format))}`]);
    });
  }

  program
    .command("verify")
    .description("check a dataset folder (<run>/dataset) against its manifest: every file's size, sha256 and rows, and every row's fields, lengths, ids and labels")
    .argument("<dir>", "the dataset folder, e.g. out/demo/dataset")
    .action(async (dir: string) => {
      const { describeProblem, verifyDataset } = await import("../export/verify.js");
      const report = await verifyDataset(resolve(dir));
      // Notes first, on every outcome: "demonstration data only" matters most on a folder that verifies.
      for (const n of report.notes) process.stdout.write(`${dir}: note: ${n}\n`);
      if (report.problems.length) {
        const shown = report.problems.slice(0, 50).map((p) => `  ${describeProblem(p)}`);
        const more = report.problems.length > 50 ? [`  ... and ${report.problems.length - 50} more`] : [];
        throw new UserError(`${dir} failed verification (${report.problems.length} problem(s)):\n${[...shown, ...more].join("\n")}`, "re-export it (`whp export --force`), or restore the files from the copy you trust");
      }
      process.stdout.write(`${dir}: ok (${report.files} files, ${report.rows} rows verified)\n`);
    });
}
