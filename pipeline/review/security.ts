/**
 * Who may talk to the review server. Pure checks on request headers; the server refuses with 403
 * whatever fails. The server writes a file on the reviewer's disk, so it trusts nothing but:
 * - a Host header naming the server itself (127.0.0.1:<port> or localhost:<port>): a page on another
 *   site that rebinds its DNS name to 127.0.0.1 still sends its own name as Host, and is refused;
 * - no Origin, or exactly the server's own origin: another site's script is refused even if it
 *   guessed the port;
 * - the per-run random token: in the printed URL for the first page load, then in an HttpOnly,
 *   SameSite=Strict cookie for pages and assets, and in a header for every API call (a cross-site
 *   form cannot set a header, and another origin cannot read the token).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

export const TOKEN_HEADER = "x-whp-token";

export const newToken = () => randomBytes(24).toString("base64url");

/** Cookies ignore ports: a name per port keeps two review servers from overwriting each other's. */
export const cookieName = (port: number) => `whp_review_${port}`;

export function tokenMatches(given: string | undefined, token: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export const allowedHosts = (port: number) => [`127.0.0.1:${port}`, `localhost:${port}`];

/** Why a request must be refused, or undefined when its Host and Origin are the server's own. */
export function refuseOrigin(headers: { host?: string; origin?: string }, port: number): string | undefined {
  const host = (headers.host ?? "").toLowerCase();
  if (!allowedHosts(port).includes(host)) return `Host "${headers.host ?? ""}" is not this server`;
  if (headers.origin !== undefined && headers.origin.toLowerCase() !== `http://${host}`) return `Origin "${headers.origin}" is not this server's`;
  return undefined;
}

/** Headers every answer carries: no framing, no sniffing, no caching, only this server's own assets. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};
