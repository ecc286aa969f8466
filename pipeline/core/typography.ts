/**
 * Typographic variants of apostrophes and quotes. Pure.
 *
 * Published books write `King’s Cross` and `“Hello”`; LLM answers and reviewers type `King's Cross`.
 * Matching folds every variant onto the ASCII character, one UTF-16 unit for one, so a folded text has
 * the same length and offsets as the original and the tokenizer never sees the folded form. Where a
 * translation is written into the text, `restyleLike` gives it the corpus's own apostrophes back.
 */

/** Variant -> ASCII. Every key and value is a single UTF-16 code unit (offsets stay aligned). */
const FOLD: Readonly<Record<string, string>> = {
  "\u2019": "'", // ’ right single quotation mark (the typeset apostrophe)
  "\u2018": "'", // ‘ left single quotation mark
  "\u02bc": "'", // ʼ modifier letter apostrophe
  "\u2032": "'", // ′ prime
  "\u201a": "'", // ‚ single low-9 quotation mark
  "\u201b": "'", // ‛ single high-reversed-9 quotation mark
  "`": "'",
  "\u201c": '"', // “
  "\u201d": '"', // ”
  "\u201e": '"', // „
  "\u201f": '"', // ‟
  "\u2033": '"', // ″ double prime
};

const APOSTROPHE_VARIANTS = ["'", ...Object.keys(FOLD).filter((k) => FOLD[k] === "'")] as const;
const QUOTE_VARIANTS = ['"', ...Object.keys(FOLD).filter((k) => FOLD[k] === '"')] as const;

/** The ASCII form of one character (itself when it is no variant). */
const foldChar = (ch: string): string => FOLD[ch] ?? ch;

const FOLD_RE = new RegExp(`[${Object.keys(FOLD).join("")}]`, "g");

/** The text with every apostrophe/quote variant folded to ASCII; same length, same offsets. */
export function foldTypography(text: string): string {
  return text.replace(FOLD_RE, (ch) => FOLD[ch]);
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A regular-expression source matching `term` with any variant where it has an apostrophe or quote. */
export function variantPattern(term: string): string {
  let out = "";
  for (const ch of foldTypography(term)) {
    if (ch === "'") out += `[${APOSTROPHE_VARIANTS.map(escapeRegex).join("")}]`;
    else if (ch === '"') out += `[${QUOTE_VARIANTS.map(escapeRegex).join("")}]`;
    else out += escapeRegex(ch);
  }
  return out;
}

export interface QuoteStyle {
  /** The apostrophe inside or after a word ("Sophie’s", "the Weasleys’"). */
  apostrophe: string;
  /** Single and double quotes at the start of a word, and closing. */
  openSingle: string;
  openDouble: string;
  closeDouble: string;
}

function styleWith(apostrophe: string, curlyDoubles: boolean): QuoteStyle {
  return {
    apostrophe,
    openSingle: apostrophe === "\u2019" ? "\u2018" : apostrophe,
    openDouble: curlyDoubles ? "\u201c" : '"',
    closeDouble: curlyDoubles ? "\u201d" : '"',
  };
}

const WORD = /[\p{L}\p{N}]/u;

/**
 * The style a piece of text writes in: the apostrophe it uses most between letters (ASCII on a tie or
 * when it has none), and curly double quotes when it has more of them than straight ones.
 */
export function styleOf(text: string): QuoteStyle {
  const apostrophes = new Map<string, number>();
  let straightDouble = 0;
  let curlyDouble = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const f = FOLD[ch] ?? ch;
    if (f === "'" && i > 0 && WORD.test(text[i - 1])) apostrophes.set(ch, (apostrophes.get(ch) ?? 0) + 1);
    else if (ch === '"') straightDouble++;
    else if (ch === "\u201c" || ch === "\u201d") curlyDouble++;
  }
  let apostrophe = "'";
  let best = 0;
  for (const [ch, n] of apostrophes) if (n > best || (n === best && ch === "'")) [apostrophe, best] = [ch, n];
  return styleWith(apostrophe, curlyDouble > straightDouble);
}

/**
 * `text` (a translation) written with `style`'s apostrophes and quotes: an apostrophe or single quote
 * after a letter becomes the style's apostrophe, one at a word start its opening quote; a double quote
 * at a word start opens, elsewhere closes. Other characters are kept.
 */
export function restyle(text: string, style: QuoteStyle): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const f = FOLD[ch] ?? ch;
    const afterWord = i > 0 && WORD.test(text[i - 1]);
    if (f === "'") out += afterWord ? style.apostrophe : style.openSingle;
    else if (f === '"') out += i === 0 || /\s/.test(text[i - 1]) ? style.openDouble : style.closeDouble;
    else out += ch;
  }
  return out;
}

/**
 * The translation as the corpus would write it at one occurrence: the style of the matched text when
 * it has an apostrophe or quote of its own ("King’s Cross" -> "Sophie’s"), else the style of the
 * surrounding text. A translation without apostrophes or quotes is returned unchanged.
 */
export function restyleLike(translation: string, surface: string, surrounding: () => string): string {
  if (!hasQuoteLike(translation)) return translation;
  const around = styleOf(surrounding());
  let own: string | undefined;
  for (let i = 1; i < surface.length && own === undefined; i++) if (foldChar(surface[i]) === "'" && WORD.test(surface[i - 1])) own = surface[i];
  return restyle(translation, own ? styleWith(own, around.openDouble !== '"') : around);
}

const hasQuoteLike = (text: string): boolean => /['"]/.test(foldTypography(text));
