/**
 * redactEntry (io/cache-write.ts) on bytes: UTF-8 bytes holding a secret are redacted like text;
 * bytes that are not UTF-8 (a binary rows entry) come back as the same object, which is what
 * redactBytes itself does with them (it rewrites text only), without its search.
 */
import { describe, expect, it } from "vitest";
import { redactBytes } from "../pipeline/core/redact.js";
import { redactEntry } from "../pipeline/io/cache-write.js";

const secret = "sk-abcdefghijklmnop1234";

describe("cache entries in bytes are redacted as redactBytes would", () => {
  it("UTF-8 bytes lose the secret", () => {
    const out = redactEntry(Buffer.from(`rows for ${secret} here`, "utf8"));
    expect(Buffer.from(out as Uint8Array).toString("utf8")).toBe("rows for [redacted] here");
  });

  it("bytes that are not UTF-8 are left as they are, the same object, as redactBytes leaves them", () => {
    const binary = Buffer.concat([Buffer.from([0x00, 0xc0, 0xbf, 0xff]), Buffer.from(secret), new Uint8Array(new Float32Array([-1.5, 2.25]).buffer)]);
    expect(redactEntry(binary)).toBe(binary);
    expect(redactBytes(binary)).toBe(binary);
  });
});
