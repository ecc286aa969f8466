import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // End-to-end tests train n-gram models and run the whole pipeline: give them room on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
