import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PIPELINE_POOL_THREADS } from "../bench/pipeline-pool.js";

describe("the libuv pool the benches measure with", () => {
  it("is the one bin/whp.js gives every run", async () => {
    const bin = await readFile(join(import.meta.dirname, "..", "bin", "whp.js"), "utf8");
    const set = /process\.env\.UV_THREADPOOL_SIZE \?\?= "(\d+)"/.exec(bin);
    expect(set?.[1]).toBe(PIPELINE_POOL_THREADS);
  });
});
