/** Stage `translate`: blocks + dictionary -> translated token sequences, position maps and the
 * forbidden-token schedule (the alignment of whp-method.md). */
import { buildTranslation, encodeRequests, planBlock } from "../core/align.js";
import { type DictionaryEntry, TermMatcher, UNALIGNED_REASONS, variantCounts } from "../core/anchors.js";
import type { Stage, StageContext } from "../stage.js";
import type { Block } from "../schemas/blocks.js";
import { UserError } from "../core/errors.js";
import { stageInfo } from "./catalog.js";


export const translateStage: Stage = {
  ...stageInfo("translate"),
  // 2: apostrophes and quotes match across typographic variants; translations take the corpus's style.
  version: 2,
  async fingerprintInputs(config) {
    return { config: { seed: config.seed }, files: [config.tokenizer] };
  },
  async run(ctx: StageContext) {
    const tok = await ctx.tokenizer();
    // The dictionary and the per-term tallies below are held: they grow with the dictionary, not
    // with the corpus. Documents, blocks and aligned rows pass one at a time.
    const dict = await ctx.read("dictionary");
    const entries = new Map<string, DictionaryEntry>(dict.entries.map((e) => [e.term, e]));
    const matcher = new TermMatcher([...entries.keys()]);
    const perTerm = new Map<string, number>();
    // term -> surface as written in the corpus -> count (variantCounts' input, tallied).
    const surfaces = new Map<string, Map<string, number>>();
    const unalignedByReason: Record<string, number> = Object.fromEntries(UNALIGNED_REASONS.map((r) => [r, 0]));
    let longestTranslated = 0;
    let blocks = 0;
    let blocksWithAnchors = 0;
    const out = await ctx.writer("aligned");
    try {
      for await (const { block, text } of blocksWithText(ctx)) {
        const view = { ids: block.input_ids, starts: block.starts, ends: block.ends, text };
        const plan = planBlock(view, matcher, entries, ctx.config.seed, block.id);
        const encode = await tok.contextEncoder(encodeRequests(plan));
        const t = buildTranslation(view, plan, encode);
        for (const o of t.occurrences) {
          perTerm.set(o.term, (perTerm.get(o.term) ?? 0) + 1);
          const forms = surfaces.get(o.term) ?? new Map<string, number>();
          const surface = view.text.slice(o.start, o.end);
          forms.set(surface, (forms.get(surface) ?? 0) + 1);
          surfaces.set(o.term, forms);
        }
        for (const u of t.unaligned) unalignedByReason[u.reason]++;
        longestTranslated = Math.max(longestTranslated, t.translatedIds.length);
        blocks++;
        if (t.occurrences.length > 0) blocksWithAnchors++;
        await out.row({ id: block.id, translated_ids: t.translatedIds, map: Array.from(t.map), forbidden: t.forbidden.map((f) => ({ from: f.from, tokens: [...f.tokens] })), occurrences: t.occurrences, unaligned: t.unaligned });
      }
      await out.commit();
    } catch (e) {
      await out.abort();
      throw e;
    }
    const occurrences = [...perTerm.values()].reduce((a, b) => a + b, 0);
    for (const [reason, count] of Object.entries(unalignedByReason)) if (count) ctx.log.warn(`${count} anchor occurrence(s) left untranslated: ${reason}`);
    // Terms found written another way than in the dictionary (typographic apostrophes and quotes).
    const variants = variantCounts(tallied(surfaces));
    const nVariants = Object.keys(variants).length;
    if (nVariants) ctx.log.info(`translate: ${nVariants} term(s) found with other apostrophes or quotes than the dictionary's (stats/translate.json, "variants")`);
    return {
      blocks,
      blocksWithAnchors,
      occurrences,
      termsFound: perTerm.size,
      termsNeverFound: dict.entries.filter((e) => !perTerm.has(e.term)).map((e) => e.term),
      unaligned: unalignedByReason,
      longestTranslatedBlock: longestTranslated,
      variants,
      perTerm: Object.fromEntries([...perTerm.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))),
    };
  },
};

/** Each tallied (term, surface) pair as many times as it was counted, for variantCounts. */
function* tallied(surfaces: Map<string, Map<string, number>>): Generator<{ term: string; surface: string }> {
  for (const [term, forms] of surfaces) for (const [surface, count] of forms) for (let i = 0; i < count; i++) yield { term, surface };
}

/**
 * Each block with the text of its document, reading documents.jsonl alongside blocks.jsonl: the
 * tokenize stage writes a document's blocks together and in the documents' order, so only the current
 * document is held. A block whose document is not next in documents.jsonl (the files are from
 * different runs) is refused, naming the block.
 */
async function* blocksWithText(ctx: StageContext): AsyncGenerator<{ block: Block; text: string }> {
  const docs = ctx.stream("documents");
  let current: { id: string; text: string } | undefined;
  try {
    for await (const block of ctx.stream("blocks")) {
      while (current?.id !== block.doc) {
        const next = await docs.next();
        if (next.done) {
          throw new UserError(
            `blocks.jsonl: block ${JSON.stringify(block.id)} is of document ${JSON.stringify(block.doc)}, which documents.jsonl does not hold after ${current ? JSON.stringify(current.id) : "its start"}`,
            "re-run `whp tokenize` (blocks.jsonl and documents.jsonl are from different runs)",
          );
        }
        current = { id: next.value.id, text: next.value.text };
      }
      yield { block, text: current.text };
    }
  } finally {
    await docs.return(undefined);
  }
}
