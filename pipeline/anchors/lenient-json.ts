/**
 * A forgiving reader for the JSON-like text chat models write: comments (line comments with // or #, and block comments), trailing
 * commas, single-quoted strings, bare keys, missing commas between items, and text cut off anywhere.
 * It never throws: values that were complete when the text ended (or went wrong) are kept, and the
 * point where reading stopped is reported, so a caller can keep every complete pair.
 *
 * Why not a package: anchors/parse.ts needs to know WHICH values were unfinished (an item or a
 * candidate list still open, a string cut mid-word) to drop and count exactly those, and where and why
 * reading stopped. jsonrepair 3.15 returns repaired text only: it completes a cut string ("Mor" kept
 * as a translation), closes a cut list as if finished, turns `"B" "y"` into a pair, and throws on `#`
 * comments. partial-json 0.1.7 can drop a cut string, but reads strict JSON only (no comments, single
 * quotes, bare keys or Python literals: the reference prompt's `translations = {...}` answers come out
 * `{}`) and does not say which containers were open. Checked against tests/anchors-parse.test.ts's
 * inputs; both fail its assertions.
 */

export type Lenient = string | number | boolean | null | Lenient[] | { [k: string]: Lenient };

export interface LenientResult {
  value: Lenient | undefined;
  /** Why reading stopped early: "cut off" (text ended inside a value) or "syntax" (unreadable). */
  stopped?: { reason: "cut off" | "syntax"; offset: number; detail: string };
  /** Containers that were still open when reading stopped (their contents are only a prefix). */
  open: ReadonlySet<object>;
}

class Stop extends Error {
  constructor(
    readonly reason: "cut off" | "syntax",
    readonly offset: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export function readLenientJson(text: string, start = 0): LenientResult {
  let i = start;
  // Containers are attached to their parent as soon as they open, so on a stop the root holds every
  // finished member at every depth; `stack` then names the ones left open.
  let root: Lenient | undefined;
  const stack: object[] = [];

  const eof = () => i >= text.length;
  const fail = (reason: "cut off" | "syntax", detail: string): never => {
    throw new Stop(reason, i, detail);
  };

  function skipSpace(): void {
    for (;;) {
      while (!eof() && /\s/.test(text[i])) i++;
      if (text.startsWith("//", i) || text[i] === "#") {
        while (!eof() && text[i] !== "\n") i++;
      } else if (text.startsWith("/*", i)) {
        const end = text.indexOf("*/", i + 2);
        i = end < 0 ? text.length : end + 2;
      } else return;
    }
  }

  function readString(): string {
    const quote = text[i++];
    let out = "";
    for (;;) {
      if (eof()) fail("cut off", "text ended inside a string");
      const c = text[i++];
      if (c === quote) return out;
      if (c === "\\") {
        if (eof()) fail("cut off", "text ended inside a string");
        const e = text[i++];
        const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", "/": "/", "\\": "\\", '"': '"', "'": "'" };
        if (e === "u") {
          const hex = text.slice(i, i + 4);
          if (hex.length < 4) fail("cut off", "text ended inside a string");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
        } else out += simple[e] ?? e;
      } else out += c;
    }
  }

  function readBare(): Lenient {
    const m = /^[A-Za-z0-9_.+\-$]+/.exec(text.slice(i, i + 200));
    if (!m) fail("syntax", `unexpected "${text[i]}"`);
    const word = m![0];
    i += word.length;
    if (word === "true" || word === "True") return true;
    if (word === "false" || word === "False") return false;
    if (word === "null" || word === "None") return null;
    const n = Number(word);
    return Number.isFinite(n) && /^[-+]?\d/.test(word) ? n : word;
  }

  function readValue(attach: (v: Lenient) => void): void {
    skipSpace();
    if (eof()) fail("cut off", "text ended before a value");
    const c = text[i];
    if (c === "{") readObject(attach);
    else if (c === "[") readArray(attach);
    else attach(c === '"' || c === "'" ? readString() : readBare());
  }

  function readArray(attach: (v: Lenient) => void): void {
    i++;
    const out: Lenient[] = [];
    attach(out);
    stack.push(out);
    for (;;) {
      skipSpace();
      if (eof()) fail("cut off", "text ended inside a list");
      if (text[i] === "]") {
        i++;
        stack.pop();
        return;
      }
      if (text[i] === ",") {
        i++;
        continue;
      }
      readValue((v) => out.push(v));
    }
  }

  function readObject(attach: (v: Lenient) => void): void {
    i++;
    const out: { [k: string]: Lenient } = {};
    attach(out);
    stack.push(out);
    for (;;) {
      skipSpace();
      if (eof()) fail("cut off", "text ended inside an object");
      if (text[i] === "}") {
        i++;
        stack.pop();
        return;
      }
      if (text[i] === ",") {
        i++;
        continue;
      }
      const key = text[i] === '"' || text[i] === "'" ? readString() : String(readBare());
      skipSpace();
      if (eof()) fail("cut off", "text ended after a key");
      if (text[i] !== ":" && text[i] !== "=") fail("syntax", `expected ":" after "${key}"`);
      i++;
      readValue((v) => {
        out[key] = v;
      });
    }
  }

  try {
    readValue((v) => {
      root = v;
    });
    return { value: root, open: new Set() };
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return { value: root, stopped: { reason: e.reason, offset: e.offset, detail: e.detail }, open: new Set(stack) };
  }
}
