/** `whp anchors extract | consolidate | check`: propose anchors, merge them into the review CSV, check it. */
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { CommandFailed, UserError } from "../core/errors.js";
import { type CommonOptions, setup, withCommon } from "./common.js";

type Opts = CommonOptions;

const out = (lines: string[]) => process.stdout.write(`${lines.join("\n")}\n`);

export function register(program: Command): void {
  const anchors = program.command("anchors").description("propose anchor terms with generic translations, merge them into the review CSV, check it");
  // exitOverride: the CLI's main() turns commander errors into exit codes; nested commands need it too.
  const common = (cmd: Command) => withCommon(cmd.exitOverride(), { force: false });

  common(anchors.command("extract").description("send passages of the forget corpus to the llm: provider (or run the offline heuristic); answers go to <run>/anchors/raw-answers.jsonl"))
    .addOption(new Option("--terms <from>", "who finds the terms: the model (in passages), or the offline heuristic with the model asked only for translations").choices(["model", "heuristic"]).default("model"))
    .action(async (opts: Opts & { terms: "model" | "heuristic" }) => {
      const { config, log } = await setup(opts);
      const [{ runExtract }, { describeCoverage }] = await Promise.all([import("../anchors/workflow.js"), import("../anchors/sample.js")]);
      const { coverage, stats } = await runExtract(config, log, { OPENAI_API_KEY: process.env.OPENAI_API_KEY, HF_TOKEN: process.env.HF_TOKEN }, { terms: opts.terms });
      out([
        `anchors extract (${config.llm?.provider}): ${describeCoverage(coverage)}`,
        `  calls sent ${stats.sent}, answered from the raw file ${stats.cached}, failed ${stats.failed.length}, cut off by the server ${stats.cutOff}, proposals ${stats.proposals}`,
        ...stats.failed.slice(0, 10).map((f) => `  failed: ${f.passageId}: ${f.error}`),
        stats.failed.length ? "  re-run `whp anchors extract` to retry the failed passages (answered ones are not sent again)" : "  next: `whp anchors consolidate`",
      ]);
      if (stats.failed.length) {
        const asked = stats.passages - stats.cached;
        throw new CommandFailed(`${stats.failed.length === asked ? "all" : stats.failed.length} of ${asked} call(s) to the model failed (listed above)`, "fix the cause, then re-run `whp anchors extract`: answered passages are not sent again");
      }
    });

  common(anchors.command("consolidate").description("merge every raw answer into the review CSV (offline; never overwrites a reviewed row)"))
    .option("--raw <file>", "consolidate this raw-answers JSONL instead of the run's")
    .action(async (opts: Opts & { raw?: string }) => {
      const { config, log } = await setup(opts);
      const { runConsolidate } = await import("../anchors/workflow.js");
      const r = await runConsolidate(config, log, opts.raw ? resolve(opts.raw) : undefined);
      const d = r.report.droppedPairs;
      const dropped = Object.entries(d).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
      out([
        `anchors consolidate: ${r.report.answers} answers (${r.report.truncatedAnswers} cut off), ${r.report.pairsKept} pairs kept, dropped: ${dropped}`,
        `  ${r.terms} terms; splittable dropped ${r.report.splittable.length}, possessive dropped ${r.report.possessive.length}`,
        `  ${r.reviewFile}: ${r.merge.added.length} new (${config.llm?.autoApprove ? "approved by llm.autoApprove" : "pending"}), ${r.merge.refreshed.length} refreshed, ${r.merge.kept.length} reviewed kept as they are${r.merge.columnsAdded.length ? `, columns added: ${r.merge.columnsAdded.join(", ")}` : ""}`,
        ...r.merge.conflicts.map((c) => `  conflict: ${r.reviewFile}:${c.line}: "${c.term}" was reviewed; new candidates not applied: ${c.newCandidates.join(" | ")}`),
        ...r.merge.unsafe.map((u) => `  left out: "${u.term}": ${u.reason}`),
        "  next: review the file (status approved / rejected), then `whp anchors check`",
      ]);
    });

  common(anchors.command("check").description("validate the review CSV as the pipeline will read it, and flag doubtful rows"))
    .option("--strict", "exit with an error when any row is flagged")
    .action(async (opts: Opts & { strict?: boolean }) => {
      const { config } = await setup(opts);
      const [{ runCheck }, { FLAG_KINDS }] = await Promise.all([import("../anchors/workflow.js"), import("../anchors/checks.js")]);
      const r = await runCheck(config);
      out([
        ...r.problems.map((p) => `error: ${p}`),
        ...r.flags.map((f) => `${r.file}:${f.line ?? "?"}: ${f.kind}: ${f.message}${f.suggestions?.length ? ` (better: ${f.suggestions.join(", ")})` : ""}`),
        ...r.variants.map((v) => `${r.file}:${v.line ?? "?"}: found as: "${v.term}" ${Object.entries(v.forms).map(([form, n]) => `${JSON.stringify(form)} ${n}x`).join(", ")} (apostrophes and quotes match across their typographic forms)`),
        `flags by kind: ${FLAG_KINDS.map((k) => `${k} ${r.flags.filter((f) => f.kind === k).length}`).join(", ")} (plausibility over ${r.passages.count} ${r.passages.from === "blocks" ? "blocks of the run" : "document windows; run the pipeline for its blocks"}; suggestions come from each term's own candidates, the file is not changed)`,
        `${r.file}: ${r.rows} rows, ${r.problems.length} error(s), ${r.flags.length} flag(s)`,
      ]);
      if (r.problems.length) throw new UserError(`${r.file} cannot be used as the dictionary (${r.problems.length} error(s) above)`, "fix the rows listed, then run `whp anchors check` again");
      if (opts.strict && r.flags.length) throw new CommandFailed(`--strict: ${r.flags.length} row(s) of ${r.file} flagged (listed above)`, "review the flagged rows, or run without --strict");
    });
}
