/** Stage `tokenize`: documents -> non-overlapping blocks of `blockSize` tokens, with character offsets. */
import { UserError } from "../core/errors.js";
import type { EncodedText } from "../io/tokenizer.js";
import type { Stage, StageContext } from "../stage.js";
import type { Block } from "../schemas/blocks.js";
import { stageInfo } from "./catalog.js";


/**
 * Splits one document's tokens into blocks. The document is tokenized once (so no word is cut at an
 * arbitrary character border); each block gets the tokenizer's leading special tokens (BOS) so every
 * training row reads like a fresh sequence; the short tail block is kept.
 */
export function splitIntoBlocks(docId: string, enc: EncodedText, blockSize: number, prefixIds: readonly number[]): Block[] {
  return [...blocksOf(docId, enc, blockSize, prefixIds)];
}

/** splitIntoBlocks one block at a time, for the stage, which writes each block as it is made. */
export function* blocksOf(docId: string, enc: EncodedText, blockSize: number, prefixIds: readonly number[]): Generator<Block> {
  const perBlock = blockSize - prefixIds.length;
  if (perBlock < 1) throw new UserError(`blockSize ${blockSize} leaves no room after ${prefixIds.length} special token(s)`, "raise blockSize");
  for (let from = 0, index = 0; from < enc.ids.length; from += perBlock, index++) {
    const to = Math.min(from + perBlock, enc.ids.length);
    const s = enc.starts[from];
    yield {
      id: `${docId}#${index}`,
      doc: docId,
      index,
      span: [s, enc.ends[to - 1]],
      input_ids: [...prefixIds, ...enc.ids.slice(from, to)],
      starts: [...prefixIds.map(() => s), ...enc.starts.slice(from, to)],
      ends: [...prefixIds.map(() => s), ...enc.ends.slice(from, to)],
    };
  }
}

export const tokenizeStage: Stage = {
  ...stageInfo("tokenize"),
  version: 1,
  async fingerprintInputs(config) {
    return { config: { blockSize: config.blockSize }, files: [config.tokenizer] };
  },
  async run(ctx: StageContext) {
    const tok = await ctx.tokenizer();
    const prefix = tok.info.prefixSpecialIds;
    // Documents are read and blocks written one at a time: memory holds one document and its
    // encoding (bounded by the largest file, not the corpus). Both files are published only once
    // both are complete, so a bad document leaves the previous ones in place.
    const blocks = await ctx.writer("blocks");
    const general = await ctx.writer("generalBlocks");
    const forget = { tokens: 0, blocks: 0, tailBlocks: 0 };
    const generalCounts = { tokens: 0, blocks: 0 };
    try {
      for await (const doc of ctx.stream("documents")) {
        const enc = await tok.encodeText(doc.text);
        forget.tokens += enc.ids.length;
        for (const b of blocksOf(doc.id, enc, ctx.config.blockSize, prefix)) {
          forget.blocks++;
          if (b.input_ids.length < ctx.config.blockSize) forget.tailBlocks++;
          await blocks.row(b);
        }
      }
      for await (const doc of ctx.stream("generalDocuments")) {
        const enc = await tok.encodeText(doc.text);
        generalCounts.tokens += enc.ids.length;
        for (const b of blocksOf(doc.id, enc, ctx.config.blockSize, prefix)) {
          generalCounts.blocks++;
          await general.row({ id: b.id, input_ids: b.input_ids });
        }
      }
      await blocks.commit();
      await general.commit();
    } catch (e) {
      await Promise.all([blocks.abort(), general.abort()]);
      throw e;
    }
    return {
      tokenizer: { sha256: tok.info.sha256, vocabSize: tok.info.vocabSize, prefixSpecialIds: prefix },
      forget,
      general: generalCounts,
    };
  },
};
