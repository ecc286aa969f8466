import { describe, expect, it } from "vitest";
import { decodeRows, encodeRows } from "../pipeline/models/cache.js";
import { backoffMs, EndpointPool, withRetry, type RetryPolicy } from "../pipeline/models/http-retry.js";
import { parseRetryAfter, ResponseShapeError, serverErrorMessage, statusError } from "../pipeline/models/transport-error.js";

const policy: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000, timeoutMs: 1000 };

describe("the retry policy", () => {
  it("parses Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it("backs off exponentially with jitter, capped, and never shorter than Retry-After", () => {
    expect(backoffMs(0, policy, () => 0)).toBe(50);
    expect(backoffMs(0, policy, () => 1)).toBe(100);
    expect(backoffMs(3, policy, () => 1)).toBe(800);
    expect(backoffMs(10, policy, () => 1)).toBe(1000);
    expect(backoffMs(0, policy, () => 0, 5000)).toBe(5000);
  });

  it("retries 429/5xx/shape errors, honouring Retry-After, and does not retry other 4xx", async () => {
    const slept: number[] = [];
    const failures = [statusError(429, "", 2000, "u"), statusError(503, "", undefined, "u"), new ResponseShapeError("short")];
    let calls = 0;
    const out = await withRetry(async () => {
      if (calls < failures.length) throw failures[calls++];
      return "ok";
    }, policy, { random: () => 0, sleep: async (ms) => void slept.push(ms) });
    expect(out).toBe("ok");
    expect(slept).toEqual([2000, 100, 200]);

    let tries = 0;
    await expect(withRetry(async () => {
      tries++;
      throw statusError(400, "bad", undefined, "u");
    }, policy, { sleep: async () => {} })).rejects.toThrow(/HTTP 400/);
    expect(tries).toBe(1);

    tries = 0;
    await expect(withRetry(async () => {
      tries++;
      throw statusError(500, "boom", undefined, "u");
    }, policy, { sleep: async () => {} })).rejects.toThrow(/gave up after 4 attempts/);
    expect(tries).toBe(4);
  });

  it("an endpoint pool sends each attempt to the endpoint whose server is least busy, limiting nothing itself", async () => {
    const endpoints = ["a", "b", "c"].map((name) => ({ name, transport: { load: 0, limit: 2 } }));
    const pool = new EndpointPool(endpoints);
    expect(pool.capacity).toBe(6);
    const seen: string[] = [];
    await Promise.all(Array.from({ length: 12 }, () => pool.run(async (e) => {
      seen.push(e.name);
      e.transport.load++; // what the transport counts when a request is handed to it
      await new Promise((r) => setTimeout(r, 5));
      e.transport.load--;
    })));
    expect(["a", "b", "c"].map((e) => seen.filter((x) => x === e).length)).toEqual([4, 4, 4]);
    // A busier server is passed over.
    endpoints[0].transport.load = 5;
    const next: string[] = [];
    await Promise.all([pool.run(async (e) => void next.push(e.name)), pool.run(async (e) => void next.push(e.name))]);
    expect(next).not.toContain("a");
  });
});

describe("cache entries", () => {
  const rows = { kind: "topk" as const, n: 2, vocabSize: 9, offsets: Int32Array.from([0, 2, 5]), ids: Int32Array.from([1, 2, 3, 4, 5]), values: Float32Array.from([-0.5, -1, -0.1, -2, -Infinity]), floor: Float32Array.from([-1, -Infinity]) };
  const key = "ab".repeat(32);

  it("round-trip exactly, -Infinity included", () => {
    const back = decodeRows(key, encodeRows(key, rows));
    expect(back).toEqual(rows);
  });

  it("refuse a flipped byte, a truncated file, and an entry filed under another key", () => {
    const buf = encodeRows(key, rows);
    for (let at = 0; at < buf.length; at += 7) {
      const bad = Buffer.from(buf);
      bad[at] ^= 0x01;
      expect(typeof decodeRows(key, bad)).toBe("string");
    }
    expect(decodeRows(key, buf.subarray(0, buf.length - 3))).toBe("checksum mismatch");
    expect(decodeRows("cd".repeat(32), buf)).toBe("entry belongs to another request");
  });
});

describe("server error bodies", () => {
  it("the message is read from every shape servers use", () => {
    expect(serverErrorMessage('{"object":"error","message":"flat"}')).toBe("flat");
    expect(serverErrorMessage('{"error":{"message":"nested"}}')).toBe("nested");
    expect(serverErrorMessage('{"detail":"Not Found"}')).toBe("Not Found");
    expect(serverErrorMessage("Internal Server Error")).toBe("Internal Server Error");
  });
});
