/** Stage `ingest`: corpus files -> validated, normalised documents. */
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import type { ResolvedConfig } from "../config.js";
import { UserError } from "../core/errors.js";
import { sha256 } from "../core/hash.js";
import { decodeCorpusBytes } from "../core/text.js";
import { listFiles, type Stage, type StageContext } from "../stage.js";
import type { Document } from "../schemas/documents.js";
import type { ArtifactWriter } from "../schemas/registry.js";
import { stageInfo } from "./catalog.js";


async function corpusFiles(config: ResolvedConfig, which: "forget" | "general"): Promise<string[]> {
  return listFiles(config.corpus[which], config.corpus.extensions);
}

interface Skipped {
  file: string;
  reason: string;
}

/** Reads one corpus's files. Refuses binary and non-UTF-8 files (exit 2, naming the file); skips and
 * reports empty ones. Holds the whole corpus: for callers that need it all (anchors extraction); the
 * stage streams with corpusDocuments. */
export async function readCorpus(config: ResolvedConfig, which: "forget" | "general"): Promise<{ docs: Document[]; skipped: Skipped[] }> {
  const docs: Document[] = [];
  const skipped: Skipped[] = [];
  for await (const doc of corpusDocuments(config, which, skipped)) docs.push(doc);
  return { docs, skipped };
}

/**
 * One corpus's documents, one file at a time (a document is held while it is read: memory is bounded
 * by the largest file, not the corpus). Empty files are skipped and added to `skipped`. Binary and
 * non-UTF-8 files are refused after the last file, all of them in one error (exit 2), so a caller
 * that writes as it reads must discard what it wrote.
 */
export async function* corpusDocuments(config: ResolvedConfig, which: "forget" | "general", skipped: Skipped[]): AsyncGenerator<Document> {
  const problems: string[] = [];
  for (const file of await corpusFiles(config, which)) {
    const id = relative(config.baseDir, file);
    const bytes = await readFile(file);
    const decoded = decodeCorpusBytes(bytes);
    if (!decoded.ok) {
      problems.push(`${file} ${decoded.problem}; fix: ${decoded.fix}`);
      continue;
    }
    if (decoded.text.trim() === "") {
      skipped.push({ file: id, reason: "empty" });
      continue;
    }
    yield { id, sha256: sha256(bytes), text: decoded.text, bom: decoded.hadBom, crlf: decoded.crlf };
  }
  if (problems.length) {
    throw new UserError(`${problems.length} file(s) in corpus.${which} cannot be read as text:\n  ${problems.join("\n  ")}`, "fix or remove the files listed; nothing was written");
  }
}

interface CorpusSummary {
  documents: number;
  characters: number;
  withBom: number;
  crlfNormalised: number;
}

/** Writes one corpus's documents to `out` as they are read, and counts them. */
async function ingestCorpus(config: ResolvedConfig, which: "forget" | "general", out: ArtifactWriter<"documents" | "generalDocuments">, skipped: Skipped[]): Promise<CorpusSummary> {
  const summary: CorpusSummary = { documents: 0, characters: 0, withBom: 0, crlfNormalised: 0 };
  for await (const doc of corpusDocuments(config, which, skipped)) {
    summary.documents++;
    summary.characters += doc.text.length;
    if (doc.bom) summary.withBom++;
    summary.crlfNormalised += doc.crlf;
    await out.row(doc);
  }
  return summary;
}

export const ingestStage: Stage = {
  ...stageInfo("ingest"),
  version: 1,
  async fingerprintInputs(config) {
    const files = [...(await corpusFiles(config, "forget")), ...(await corpusFiles(config, "general"))];
    return { config: { corpus: config.corpus }, files };
  },
  async run(ctx: StageContext) {
    // Both files are published only when both corpora were read without a problem: a refused file
    // leaves the previous documents in place ("nothing was written").
    const documents = await ctx.writer("documents");
    const generalDocuments = await ctx.writer("generalDocuments");
    const forgetSkipped: Skipped[] = [];
    const generalSkipped: Skipped[] = [];
    let forget: CorpusSummary;
    let general: CorpusSummary;
    try {
      forget = await ingestCorpus(ctx.config, "forget", documents, forgetSkipped);
      if (forget.documents === 0) {
        throw new UserError(
          `the forget corpus is empty: no non-empty ${ctx.config.corpus.extensions.join("/")} file under ${ctx.config.corpus.forget.join(", ")}`,
          "point corpus.forget at the text files the model must forget",
        );
      }
      general = await ingestCorpus(ctx.config, "general", generalDocuments, generalSkipped);
      await documents.commit();
      await generalDocuments.commit();
    } catch (e) {
      await Promise.all([documents.abort(), generalDocuments.abort()]);
      throw e;
    }
    const skipped = [...forgetSkipped, ...generalSkipped];
    for (const s of skipped) ctx.log.warn(`skipped ${s.file}: ${s.reason}`);
    return { forget, general, skipped };
  },
};
