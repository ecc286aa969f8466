/**
 * Secrets out of everything whp writes. A proxy or gateway may echo the Authorization header in its
 * error body, and a model may repeat a key it was shown; the text then flows into messages, log lines,
 * reports, caches and the raw answers file. Every writer (the logger, the atomic file writers and the
 * append of io/artifacts.ts, and the CLI's stdout/stderr) passes its text through `redact`, so one
 * function decides what a secret is.
 *
 * A secret is (1) the value of an environment variable whp reads a key from (OPENAI_API_KEY, HF_TOKEN,
 * every `apiKeyEnv` the config names) or whose name says it holds one, and (2) anything shaped like a
 * bearer credential (`Bearer <token>`, OpenAI `sk-...`, Hugging Face `hf_...`) even when whp never
 * held it.
 */

export const REDACTED = "[redacted]";

/** Environment variables whp itself reads keys from. */
const KNOWN_SECRET_ENV = ["OPENAI_API_KEY", "HF_TOKEN"];
/** Any other variable whose name says it holds a credential. */
const SECRET_ENV_NAME = /(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$/i;
/** Shorter values are not redacted: "1" or "true" would shred ordinary text. */
const MIN_SECRET_LENGTH = 8;

const TOKEN_SHAPES: readonly [RegExp, string][] = [
  // A credential has a digit and 16+ characters: "the bearer of bad news" is left alone.
  [/\b(Bearer)(\s+)(?=[A-Za-z0-9\-._~+/]*\d)[A-Za-z0-9\-._~+/]{16,}=*/gi, `$1$2${REDACTED}`],
  [/\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\bhf_[A-Za-z0-9]{16,}/g, REDACTED],
];

const registeredEnv = new Set<string>();

/** Marks an environment variable as holding a secret (the config's `apiKeyEnv` names). */
export function registerSecretEnv(name: string): void {
  if (name) registeredEnv.add(name);
}

/** The secret values held right now, longest first so a key containing another is removed whole. */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value || value.length < MIN_SECRET_LENGTH) continue;
    if (KNOWN_SECRET_ENV.includes(name) || registeredEnv.has(name) || SECRET_ENV_NAME.test(name)) values.add(value);
  }
  return [...values].sort((a, b) => b.length - a.length);
}

/** `text` with every secret value and every token-shaped credential replaced by "[redacted]". */
export function redact(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const secret of secretValues(env)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    // JSON writers escape "/" or quotes inside a value; catch the escaped spelling too.
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret && out.includes(escaped)) out = out.split(escaped).join(REDACTED);
  }
  for (const [pattern, replacement] of TOKEN_SHAPES) out = out.replace(pattern, replacement);
  return out;
}

/** Bytes as `redact` would leave them; untouched (same object) when nothing needs redacting. */
export function redactBytes(data: Uint8Array, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const suspicious = secretValues(env).some((s) => buf.includes(s)) || /bearer|sk-|hf_/i.test(buf.toString("latin1"));
  if (!suspicious) return data;
  const text = buf.toString("utf8");
  // Only text is rewritten: bytes that are not valid UTF-8 would not survive the round trip.
  if (!Buffer.from(text, "utf8").equals(buf)) return data;
  const clean = redact(text, env);
  return clean === text ? data : Buffer.from(clean, "utf8");
}
