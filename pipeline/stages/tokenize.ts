/** Stage `tokenize`: documents -> non-overlapping blocks of `blockSize` tokens, with character offsets. */
import { UserError } from "../core/errors.js";
import type { EncodedText } from "../io/tokenizer.js";
import type { Stage, StageContext } from "../stage.js";
import type { Block, GeneralBlock } from "../schemas/blocks.js";
import { streamArtifact, writeArtifact } from "../schemas/registry.js";
import { stageInfo } from "./catalog.js";


/**
 * Splits one document's tokens into blocks. The document is tokenized once (so no word is cut at an
 * arbitrary character border); each block gets the tokenizer's leading special tokens (BOS) so every
 * training row reads like a fresh sequence; the short tail block is kept.
 */
export function splitIntoBlocks(docId: string, enc: EncodedText, blockSize: number, prefixIds: readonly number[]): Block[] {
  const perBlock = blockSize - prefixIds.length;
  if (perBlock < 1) throw new UserError(`blockSize ${blockSize} leaves no room after ${prefixIds.length} special token(s)`, "raise blockSize");
  const blocks: Block[] = [];
  for (let from = 0, index = 0; from < enc.ids.length; from += perBlock, index++) {
    const to = Math.min(from + perBlock, enc.ids.length);
    const s = enc.starts[from];
    blocks.push({
      id: `${docId}#${index}`,
      doc: docId,
      index,
      span: [s, enc.ends[to - 1]],
      input_ids: [...prefixIds, ...enc.ids.slice(from, to)],
      starts: [...prefixIds.map(() => s), ...enc.starts.slice(from, to)],
      ends: [...prefixIds.map(() => s), ...enc.ends.slice(from, to)],
    });
  }
  return blocks;
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
    const blocks: Block[] = [];
    let forgetTokens = 0;
    for await (const doc of streamArtifact(ctx, "documents")) {
      const enc = await tok.encodeText(doc.text);
      forgetTokens += enc.ids.length;
      blocks.push(...splitIntoBlocks(doc.id, enc, ctx.config.blockSize, prefix));
    }
    const general: GeneralBlock[] = [];
    let generalTokens = 0;
    for await (const doc of streamArtifact(ctx, "generalDocuments")) {
      const enc = await tok.encodeText(doc.text);
      generalTokens += enc.ids.length;
      for (const b of splitIntoBlocks(doc.id, enc, ctx.config.blockSize, prefix)) general.push({ id: b.id, input_ids: b.input_ids });
    }
    await writeArtifact(ctx, "blocks", blocks);
    await writeArtifact(ctx, "generalBlocks", general);
    return {
      tokenizer: { sha256: tok.info.sha256, vocabSize: tok.info.vocabSize, prefixSpecialIds: prefix },
      forget: { tokens: forgetTokens, blocks: blocks.length, tailBlocks: blocks.filter((b) => b.input_ids.length < ctx.config.blockSize).length },
      general: { tokens: generalTokens, blocks: general.length },
    };
  },
};
