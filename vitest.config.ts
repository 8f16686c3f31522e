import path from "node:path";
import { defineConfig } from "vitest/config";

const alias = { "@": path.resolve(import.meta.dirname) };

export default defineConfig({
  resolve: { alias },
  test: {
    globalSetup: ["tests/support/global-setup.ts"],
    reporters: ["default", "./tests/support/summary-reporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests spawn workers and share one Redis: keep files in separate
    // processes but don't overload a 2-core machine.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "main", include: ["tests/unit/**/*.test.ts", "tests/integration/**/*.test.ts"] } },
      // The lab's hosts are shared (and one test changes a host key): one file at a time.
      { extends: true, test: { name: "lab", include: ["tests/lab/**/*.test.ts"], fileParallelism: false, testTimeout: 120_000 } },
    ],
  },
});
