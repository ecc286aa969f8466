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
  if (c === 48) c = s[++i];
  else if (c >= 49 && c <= 57) {
    do {
      if (digits < 15) hi = hi * 10 + (c - 48);
      else if (tailDigits++ < 4) tail = tail * 10 + (c - 48);
      digits++;
      c = s[++i];
    } while (c >= 48 && c <= 57);
  } else return NaN;
  if (c === 46) {
    c = s[++i];
    if (!(c >= 48 && c <= 57)) return NaN;
    do {
      if (digits < 15) {
        hi = hi * 10 + (c - 48);
        if (hi !== 0) digits++;
      } else {
        if (tailDigits++ < 4) tail = tail * 10 + (c - 48);
        digits++;
      }
      frac++;
      c = s[++i];
    } while (c >= 48 && c <= 57);
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

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);

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
  bits[0] = x;
  const hw = words[1];
  const expField = (hw >>> 20) & 0x7ff;
  // Powers of two (the ulp below is half the ulp above), subnormals and huge values: not handled here.
  if (expField < 60 || expField > 2000 || (words[0] === 0 && (hw & 0xfffff) === 0)) return NaN;
  words[1] = (expField - 53) << 20; // half an ulp of x: 2^(exponent - 53)
  words[0] = 0;
  const halfUlp = bits[0];
  return halfUlp - Math.abs(err) > Math.abs(x) * 8.271806125530277e-25 /* 2^-80 */ ? x : NaN;
}

/** Reads a whole string as one JSON number (for tests), or undefined when it is not exactly one. */
export function parseJsonNumberText(text: string): number | undefined {
  const bytes = Buffer.from(text);
  const v = readJsonNumber(bytes, 0);
  return v === v && numberEnd.at === bytes.length ? v : undefined;
}
