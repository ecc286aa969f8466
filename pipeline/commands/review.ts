/** `whp review <csv>`: a local page for reviewing an anchor dictionary (see pipeline/review/server.ts). */
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { UserError } from "../core/errors.js";
import type { BlockSpan } from "../anchors/corpus-stats.js";
import { type CommonOptions, setup, withCommon } from "./common.js";

export function register(program: Command): void {
  withCommon(program.command("review").argument("<csv>", "the review CSV, e.g. anchors/<name>.csv").description("review an anchor dictionary in a local page (prints a URL with a one-time token; opens nothing)"), { force: false })
    .action(async (csvArg: string, opts: CommonOptions) => {
      const { config } = await setup(opts);
      // Imported when the command runs: the review server and corpus statistics are far too heavy for
      // `whp --help` (issue 17).
      const { fileExists, readJsonlAll } = await import("../io/artifacts.js");
      const { loadWordFrequencies } = await import("../anchors/corpus-stats.js");
      const { forgetDocuments } = await import("../anchors/workflow.js");
      const { CsvFile } = await import("../review/csv-file.js");
      const { readRows } = await import("../review/rows.js");
      const { QUEUE_KINDS, QUEUES } = await import("../review/queues.js");
      const { loadNameLexicon } = await import("../anchors/name-lexicon.js");
      const { startReviewServer } = await import("../review/server.js");
      const { ARTIFACTS } = await import("../stage.js");
      const blockSpanSchema = (await import("../schemas/blocks.js")).blockSchema.pick({ doc: true, span: true });
      const csvPath = resolve(csvArg);
      if (!(await fileExists(csvPath))) throw new UserError(`review file not found: ${csvPath}`, "give the CSV written by `whp anchors consolidate` (or any dictionary CSV)");
      // Refuse a broken file now rather than on the first page load.
      const { rows } = readRows(await new CsvFile(csvPath).read(), csvPath);
      const docs = await forgetDocuments(config);
      const blocksPath = join(config.runDir, ARTIFACTS.blocks);
      // Block counts only exist once the run tokenized the corpus; without them the page shows none.
      const blocks = (await fileExists(blocksPath)) ? ((await readJsonlAll(blocksPath, blockSpanSchema)) as BlockSpan[]) : undefined;
      const server = await startReviewServer({ csvPath, docs, blocks, freq: await loadWordFrequencies(), names: await loadNameLexicon(), runDir: config.runDir });
      // The review queues show as extra tabs; say which exist, and what writes the others.
      const queues = await Promise.all(QUEUE_KINDS.map(async (k) => `${QUEUES[k].title}: ${(await fileExists(join(config.runDir, QUEUES[k].relPath))) ? join(config.runDir, QUEUES[k].relPath) : `none yet (\`${QUEUES[k].writtenBy}\`)`}`));
      process.stdout.write(
        `whp review: ${csvPath} (${rows.length} rows; forget corpus: ${docs.length} document(s))\n` +
          `queue tabs: ${queues.join("; ")}\n` +
          `open this URL in your browser (it holds a token for this run only):\n  ${server.url}\n` +
          "every change is saved to the CSV at once; press Ctrl+C to stop\n",
      );
      await new Promise<void>((done) => {
        const stop = () => void server.close().then(done);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
