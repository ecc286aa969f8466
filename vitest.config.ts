import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Each test file's temp folders live under one $TMPDIR of its own, removed after the file.
    setupFiles: ["tests/helpers/tmp-cleanup.ts"],
    // End-to-end tests train n-gram models and run the whole pipeline: give them room on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
