/**
 * Reads a JSON number from bytes giving the same double as JSON.parse, bit for bit, mostly without
 * building a string: V8's Number(text) cost ~200 ns per value, and a top-20 vLLM response holds
 * ~10,000 of them (Python writes float32 values with 16-17 significant digits). Pure.
 */

/** Where the last readJsonNumber call stopped (the index after the number). A field of a constant
 * object, not an exported `let`: a live binding is read through a getter once transpiled (tsx), ~7% of
 * the scanner's time in a profile. */
export const numberEnd = { at: 0 };

/** The number starting at s[i] (JSON grammar), or NaN when there is none; sets numberEnd.at. */
export function readJsonNumber(s: Uint8Array, i: number): number {
  const start = i;
  let c = s[i];
  let neg = false;
  if (c === 45) {
    neg = true;
    c = s[++i];
  }
  // Significant digits: the first 15 in `hi` (exact in a double), up to 4 more in `tail`.
  let hi = 0;
  let tail = 0;
  let tailDigits = 0;
  let digits = 0;
  let frac = 0;
  // Two loops per part (while under 15 significant digits, then the tail) rather than one with a
  // branch per digit: the digit loops are most of this function's time.
  if (c === 48) c = s[++i];
  else if (c >= 49 && c <= 57) {
    while (c >= 48 && c <= 57 && digits < 15) {
      hi = hi * 10 + (c - 48);
      digits++;
      c = s[++i];
    }
    while (c >= 48 && c <= 57) {
      if (tailDigits++ < 4) tail = tail * 10 + (c - 48);
      digits++;
      c = s[++i];
    }
  } else return NaN;
  if (c === 46) {
    c = s[++i];
    if (!(c >= 48 && c <= 57)) return NaN;
    const fracStart = i;
    if (hi === 0) while (c === 48) c = s[++i]; // leading zeros: not significant
    // Two digits a step while both are digits and 15 are not reached: half the iterations and a
    // shorter chain of dependent multiplications (hi stays below 10^15, so every step is exact).
    while (digits < 14) {
      const d1 = c - 48;
      const d2 = s[i + 1] - 48;
      if (!(d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) break;
      hi = hi * 100 + (d1 * 10 + d2);
      digits += 2;
      c = s[(i += 2)];
    }
    while (c >= 48 && c <= 57 && digits < 15) {
      hi = hi * 10 + (c - 48);
      digits++;
      c = s[++i];
    }
    while (c >= 48 && c <= 57) {
      if (tailDigits++ < 4) tail = tail * 10 + (c - 48);
      digits++;
      c = s[++i];
    }
    frac = i - fracStart;
  }
  let exp = false;
  if (c === 101 || c === 69) {
    exp = true;
    c = s[++i];
    if (c === 43 || c === 45) c = s[++i];
    if (!(c >= 48 && c <= 57)) return NaN;
    do c = s[++i];
    while (c >= 48 && c <= 57);
  }
  numberEnd.at = i;
  if (!exp && frac <= 22) {
    // Exact fast path (Clinger): an integer below 2^53 divided by an exact power of ten is correctly
    // rounded, i.e. the double JSON.parse gives.
    if (digits <= 15) {
      const v = frac ? hi / POW10[frac] : hi;
      return neg ? -v : v;
    }
    // 16 digits whose integer is still below 2^53 (a third of Python's float32 reprs): the same exact
    // path. hi * 10 + tail is computed exactly whenever the result is below 2^53 (rounding is monotone
    // and 2^53 is a double, so a computed value below it means the exact one is too).
    if (digits === 16) {
      const m = hi * 10 + tail;
      if (m < 9007199254740992) {
        const v = m / POW10[frac];
        return neg ? -v : v;
      }
    }
    // 16-19 digits (Python's repr of a float32 value, JSON.stringify of a double): the quotient in
    // double-double precision, kept only when it is provably far from a rounding boundary.
    if (digits <= 19) {
      const v = ddQuotient(hi, tailDigits, tail, frac);
      if (v === v) return neg ? -v : v;
    }
  }
  let text = "";
  for (let j = start; j < i; j++) text += String.fromCharCode(s[j]);
  return Number(text);
}

const POW10 = Array.from({ length: 23 }, (_, e) => 10 ** e);

// Error-free products (Dekker): a * b = p + e exactly, without fused multiply-add.
const SPLIT = 134217729; // 2^27 + 1
let prodErr = 0;
function twoProd(a: number, b: number): number {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  prodErr = ah * bh - p + ah * bl + al * bh + al * bl;
  return p;
}

/**
 * (hi * 10^tailDigits + tail) / 10^frac rounded to the nearest double, or NaN when that cannot be
 * decided here. The numerator is exact as a double-double; the quotient carries ~2^-100 relative
 * error, so the rounding of x = q1 + q2 is certain unless the exact value lies within 2^-80 |x| of the
 * midpoint between two doubles (then NaN: the caller asks V8, as JSON.parse would).
 */
function ddQuotient(hi: number, tailDigits: number, tail: number, frac: number): number {
  // Numerator M = s + lo (exact up to ~2^-106 relative).
  const p = twoProd(hi, POW10[tailDigits]);
  const e = prodErr;
  const s = p + tail;
  const sErr = tail - (s - p) + (p - (s - (s - p)));
  const lo = sErr + e;
  const D = POW10[frac];
  const q1 = s / D;
  const qd = twoProd(q1, D);
  const r = s - qd - prodErr + lo;
  const q2 = r / D;
  const x = q1 + q2;
  const err = q2 - (x - q1);
  // x is the correctly rounded quotient when the exact one, x + err (err known to ~2^-80 |x|), is
  // nearer to x than to either neighbour. Adding err widened by a margin of 2^-79 |x| to x and getting
  // x back proves it (IEEE addition rounds the exact sum; a tie counts as near, which the margin
  // covers), and asks no bit layout: the neighbour below a power of two is nearer, and the addition
  // sees that too. Numerators here have 16-19 digits and denominators at most 10^22, so x is between
  // 1e-7 and 1e19: no subnormal or overflow to fear.
  const margin = x * 1.6543612251060553e-24; // 2^-79
  return x + (err >= 0 ? err + margin : err - margin) === x ? x : NaN;
}

/** Reads a whole string as one JSON number (for tests), or undefined when it is not exactly one. */
export function parseJsonNumberText(text: string): number | undefined {
  const bytes = Buffer.from(text);
  const v = readJsonNumber(bytes, 0);
  return v === v && numberEnd.at === bytes.length ? v : undefined;
}
