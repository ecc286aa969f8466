/** Stage `translate`: blocks + dictionary -> translated token sequences, position maps and the
 * forbidden-token schedule (the alignment of whp-method.md). */
import { buildTranslation, encodeRequests, planBlock } from "../core/align.js";
import { type DictionaryEntry, TermMatcher, UNALIGNED_REASONS, variantCounts } from "../core/anchors.js";
import type { Stage, StageContext } from "../stage.js";
import type { AlignedBlock } from "../schemas/aligned.js";
import { readArtifact, streamArtifact, writeArtifact } from "../schemas/registry.js";
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
    const dict = await readArtifact(ctx, "dictionary");
    const entries = new Map<string, DictionaryEntry>(dict.entries.map((e) => [e.term, e]));
    const matcher = new TermMatcher([...entries.keys()]);
    const texts = new Map<string, string>();
    for await (const doc of streamArtifact(ctx, "documents")) texts.set(doc.id, doc.text);

    const rows: AlignedBlock[] = [];
    const perTerm = new Map<string, number>();
    const surfaces: { term: string; surface: string }[] = [];
    const unalignedByReason: Record<string, number> = Object.fromEntries(UNALIGNED_REASONS.map((r) => [r, 0]));
    let longestTranslated = 0;
    for await (const block of streamArtifact(ctx, "blocks")) {
      const view = { ids: block.input_ids, starts: block.starts, ends: block.ends, text: texts.get(block.doc) ?? "" };
      const plan = planBlock(view, matcher, entries, ctx.config.seed, block.id);
      const encode = await tok.contextEncoder(encodeRequests(plan));
      const t = buildTranslation(view, plan, encode);
      for (const o of t.occurrences) {
        perTerm.set(o.term, (perTerm.get(o.term) ?? 0) + 1);
        surfaces.push({ term: o.term, surface: view.text.slice(o.start, o.end) });
      }
      for (const u of t.unaligned) unalignedByReason[u.reason]++;
      longestTranslated = Math.max(longestTranslated, t.translatedIds.length);
      rows.push({ id: block.id, translated_ids: t.translatedIds, map: Array.from(t.map), forbidden: t.forbidden.map((f) => ({ from: f.from, tokens: [...f.tokens] })), occurrences: t.occurrences, unaligned: t.unaligned });
    }
    await writeArtifact(ctx, "aligned", rows);
    const occurrences = [...perTerm.values()].reduce((a, b) => a + b, 0);
    for (const [reason, count] of Object.entries(unalignedByReason)) if (count) ctx.log.warn(`${count} anchor occurrence(s) left untranslated: ${reason}`);
    // Terms found written another way than in the dictionary (typographic apostrophes and quotes).
    const variants = variantCounts(surfaces);
    const nVariants = Object.keys(variants).length;
    if (nVariants) ctx.log.info(`translate: ${nVariants} term(s) found with other apostrophes or quotes than the dictionary's (stats/translate.json, "variants")`);
    return {
      blocks: rows.length,
      blocksWithAnchors: rows.filter((r) => r.occurrences.length > 0).length,
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
