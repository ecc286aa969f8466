/**
 * A second, deliberately plain implementation of the method's rules (../shared/docs/whp-method.md),
 * written from the page and not from pipeline/core: golden cases compare whp's labels with it.
 *
 * It works the way the reference builder does, in token space: anchors are found by matching each
 * term's token sequences (the term after a space, and at the start of the text), the translated
 * sequence is built by splicing in the translation's tokens, forbidden lists hang on translated rows
 * and row i applies the lists of rows 0..i-1, and the combination runs on dense full-vocabulary rows
 * with the formula written out. No top-k, no bounds, no lookup tables. The only thing it takes from
 * the caller is the tokenizer and the per-term draw (the seeded choice is a source of randomness, not
 * a rule).
 *
 * Two switches reproduce rules the method rejects, so a test can show its cases tell them apart:
 * `forbidAtUse` forbids at the row of use itself (the old off-by-one), `assignMean` assigns the row
 * mean (the reference builder's quirk) instead of lowering to it.
 */

/** Tokenizes text with no BOS; ids must be stable across calls. */
export type Encode = (text: string) => number[];

export interface ReferenceTranslation {
  readonly translated: number[];
  /** map[i]: translated row compared with original row i, -1 = masked. */
  readonly map: number[];
  /** forbiddenAt[j]: tokens forbidden at every translated row after j (the list of row j). */
  readonly forbiddenAt: ReadonlyMap<number, readonly number[]>;
  /** Matched anchors, in order: original token span [first, last]. */
  readonly anchors: { term: string; first: number; last: number }[];
}

/** First token of `translation` in each context the reference builder tries. */
export function firstTokens(translation: string, encode: Encode): number[] {
  const after = (context: string) => encode(context + translation)[encode(context).length];
  const ids = [encode(translation)[0], encode(` ${translation}`)[0], after("x\n"), after('x "')];
  return [...new Set(ids.filter((t) => t !== undefined))].sort((a, b) => a - b);
}

/**
 * ids[0] is BOS (never part of an anchor). chosen: the translation drawn for each term (one per term
 * per block). Longest match wins (by token count, then by term length); matches do not overlap.
 */
export function referenceTranslate(ids: readonly number[], chosen: ReadonlyMap<string, string>, encode: Encode): ReferenceTranslation {
  const forms: { term: string; lead: string; tokens: number[] }[] = [];
  for (const term of chosen.keys()) {
    forms.push({ term, lead: " ", tokens: encode(` ${term}`) });
    forms.push({ term, lead: "", tokens: encode(term) });
  }
  const matchAt = (p: number) => {
    let best: (typeof forms)[number] | undefined;
    for (const f of forms) {
      if (p + f.tokens.length > ids.length || !f.tokens.every((t, k) => ids[p + k] === t)) continue;
      if (!best || f.tokens.length > best.tokens.length || (f.tokens.length === best.tokens.length && f.term.length > best.term.length)) best = f;
    }
    return best;
  };

  const translated: number[] = [];
  const map: number[] = new Array(ids.length).fill(-1);
  const forbiddenAt = new Map<number, number[]>();
  const anchors: ReferenceTranslation["anchors"] = [];
  const seenTerms = new Set<string>();
  const usedTranslations = new Set<string>();
  let i = 0;
  while (i < ids.length) {
    const m = i > 0 ? matchAt(i) : undefined;
    if (!m) {
      map[i] = translated.length;
      translated.push(ids[i]);
      i++;
      continue;
    }
    const first = i;
    const last = i + m.tokens.length - 1;
    const translation = chosen.get(m.term) as string;
    const use = translated.length; // the translated row of the translation's first token
    // Later occurrence of a term: the row before it would teach "Jon" right after "Harry".
    if (seenTerms.has(m.term)) map[first - 1] = -1;
    seenTerms.add(m.term);
    translated.push(...encode(m.lead + translation));
    for (let k = first; k < last; k++) map[k] = -1;
    map[last] = translated.length - 1;
    if (!usedTranslations.has(translation)) {
      usedTranslations.add(translation);
      forbiddenAt.set(use, firstTokens(translation, encode));
    }
    anchors.push({ term: m.term, first, last });
    i = last + 1;
  }
  return { translated, map, forbiddenAt, anchors };
}

export interface ReferenceRules {
  readonly forbidAtUse?: boolean;
  readonly assignMean?: boolean;
}

/**
 * generic[i] = argmax_t (b'_t - alpha * max(0, r_t - b'_t)), ties to the smallest id, -1 where masked;
 * b = baseline[map[i]] with the forbidden tokens of earlier rows lowered to min(b_t, mean(b)).
 */
export function referenceGeneric(
  tr: ReferenceTranslation,
  reinforced: readonly (readonly number[])[],
  baseline: readonly (readonly number[])[],
  alpha: number,
  rules: ReferenceRules = {},
): number[] {
  return tr.map.map((j, i) => {
    if (j < 0) return -1;
    const b = [...baseline[j]];
    let sum = 0;
    for (const x of baseline[j]) sum += x;
    const mean = sum / b.length;
    for (const [row, tokens] of tr.forbiddenAt) {
      if (row < j || (rules.forbidAtUse && row === j)) {
        for (const t of tokens) b[t] = rules.assignMean ? mean : Math.min(b[t], mean);
      }
    }
    let best = -1;
    let bestV = -Infinity;
    for (let t = 0; t < b.length; t++) {
      const v = b[t] - alpha * Math.max(0, reinforced[i][t] - b[t]);
      if (best < 0 || v > bestV) {
        best = t;
        bestV = v;
      }
    }
    return best;
  });
}

/** Hugging Face convention: labels[t] = generic[t - 1], labels[0] = -100, masked -> -100. */
export function referenceLabels(generic: readonly number[]): number[] {
  return generic.map((_, t) => (t === 0 || generic[t - 1] < 0 ? -100 : generic[t - 1]));
}
