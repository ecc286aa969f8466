/** Stage `ingest`: corpus files -> validated, normalised documents. */
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import type { ResolvedConfig } from "../config.js";
import { UserError } from "../core/errors.js";
import { sha256 } from "../core/hash.js";
import { decodeCorpusBytes } from "../core/text.js";
import { listFiles, type Stage, type StageContext } from "../stage.js";
import type { Document } from "../schemas/documents.js";
import { writeArtifact } from "../schemas/registry.js";
import { stageInfo } from "./catalog.js";


async function corpusFiles(config: ResolvedConfig, which: "forget" | "general"): Promise<string[]> {
  return listFiles(config.corpus[which], config.corpus.extensions);
}

interface Skipped {
  file: string;
  reason: string;
}

/** Reads one corpus's files. Refuses binary and non-UTF-8 files (exit 2, naming the file); skips and
 * reports empty ones. */
export async function readCorpus(config: ResolvedConfig, which: "forget" | "general"): Promise<{ docs: Document[]; skipped: Skipped[] }> {
  const files = await corpusFiles(config, which);
  const docs: Document[] = [];
  const skipped: Skipped[] = [];
  const problems: string[] = [];
  for (const file of files) {
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
    docs.push({ id, sha256: sha256(bytes), text: decoded.text, bom: decoded.hadBom, crlf: decoded.crlf });
  }
  if (problems.length) {
    throw new UserError(`${problems.length} file(s) in corpus.${which} cannot be read as text:\n  ${problems.join("\n  ")}`, "fix or remove the files listed; nothing was written");
  }
  return { docs, skipped };
}

export const ingestStage: Stage = {
  ...stageInfo("ingest"),
  version: 1,
  async fingerprintInputs(config) {
    const files = [...(await corpusFiles(config, "forget")), ...(await corpusFiles(config, "general"))];
    return { config: { corpus: config.corpus }, files };
  },
  async run(ctx: StageContext) {
    const forget = await readCorpus(ctx.config, "forget");
    if (forget.docs.length === 0) {
      throw new UserError(
        `the forget corpus is empty: no non-empty ${ctx.config.corpus.extensions.join("/")} file under ${ctx.config.corpus.forget.join(", ")}`,
        "point corpus.forget at the text files the model must forget",
      );
    }
    const general = await readCorpus(ctx.config, "general");
    for (const s of [...forget.skipped, ...general.skipped]) ctx.log.warn(`skipped ${s.file}: ${s.reason}`);
    await writeArtifact(ctx, "documents", forget.docs);
    await writeArtifact(ctx, "generalDocuments", general.docs);
    const summary = (docs: Document[]) => ({
      documents: docs.length,
      characters: docs.reduce((n, d) => n + d.text.length, 0),
      withBom: docs.filter((d) => d.bom).length,
      crlfNormalised: docs.reduce((n, d) => n + d.crlf, 0),
    });
    return { forget: summary(forget.docs), general: summary(general.docs), skipped: [...forget.skipped, ...general.skipped] };
  },
};
