/** `whp review <csv>`: a local page for reviewing an anchor dictionary (see pipeline/review/server.ts). */
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { fileExists, readJsonlAll } from "../core/artifacts.js";
import { UserError } from "../core/errors.js";
import { loadWordFrequencies, type BlockSpan } from "../anchors/corpus-stats.js";
import { forgetDocuments } from "../anchors/workflow.js";
import { CsvFile } from "../review/csv-file.js";
import { readRows } from "../review/rows.js";
import { QUEUE_KINDS, QUEUES } from "../review/queues.js";
import { loadNameLexicon } from "../anchors/name-lexicon.js";
import { startReviewServer } from "../review/server.js";
import { ARTIFACTS } from "../stage.js";
import { blockSchema } from "../stages/tokenize.js";
import { type CommonOptions, setup, withCommon } from "./common.js";

const blockSpanSchema = blockSchema.pick({ doc: true, span: true });

export function register(program: Command): void {
  withCommon(program.command("review").argument("<csv>", "the review CSV, e.g. anchors/<name>.csv").description("review an anchor dictionary in a local page (prints a URL with a one-time token; opens nothing)"), { force: false })
    .action(async (csvArg: string, opts: CommonOptions) => {
      const { config } = await setup(opts);
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
