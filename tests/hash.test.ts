/**
 * core/hash.ts's canonical JSON, what every cache key and fingerprint is the hash of: keys sorted at
 * every level, objects inside arrays included, arrays of plain values as JSON writes them. The hashes
 * are pinned (computed before the arrays-of-plain-values shortcut): a change here would move every
 * cache key, so existing response caches would be fetched again.
 */
import { describe, expect, it } from "vitest";
import { canonicalJson, hashJson } from "../pipeline/core/hash.js";

describe("canonical JSON", () => {
  it("sorts keys at every level, inside arrays too, and drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: [{ f: 1, e: 2 }] }, 3], u: undefined })).toBe('{"a":[{"c":[{"e":2,"f":1}],"d":1},3],"b":1}');
  });

  it("writes arrays of plain values as JSON does (undefined as null)", () => {
    expect(canonicalJson([1, "x", null, undefined, true])).toBe('[1,"x",null,null,true]');
  });

  it("keeps the hashes existing caches are keyed by", () => {
    expect(hashJson({ v: 2, identity: { model: "m", revision: "r", b: [3, { z: 1, a: 2 }] }, tokens: [1, 2, 3, 31999], k: 20 })).toBe("c3bd2f3ebf0cb49a63b6f7209de3d0a96022108a5283928c2329f604d05d6d7f");
    expect(hashJson([{ b: 1, a: 2 }, 3, null, undefined, "x"])).toBe("c8be20871ad95c46d53c32a6c7eaa99d577e0303a6ac78ccbfba10d79430b0c8");
    expect(hashJson({ t: Array.from({ length: 512 }, (_, i) => i * 7) })).toBe("16a47a93768826ec61674de2729497f0c12f54f776a1e37a42d917a4124f7f23");
  });
});
