/**
 * Setup file (vitest.config.ts setupFiles): each test file gets its own temporary folder as $TMPDIR,
 * removed in afterAll, so a test run leaves nothing under the system temp folder even when a test
 * forgets to clean up or fails half-way. Set at import time, before the test file's own imports read
 * os.tmpdir(); child processes (the whp binary) inherit it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const outer = process.env.TMPDIR;
const mine = mkdtempSync(join(tmpdir(), "whp-tests-"));
process.env.TMPDIR = mine;

afterAll(() => {
  if (outer === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = outer;
  rmSync(mine, { recursive: true, force: true });
});
