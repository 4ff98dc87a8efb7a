import { defineConfig } from "vitest/config";

// Two projects: Node-side tests (queue, consumer, processing, CLI) against real Redis,
// PostgreSQL and Dovecot; and the Worker tests, which run inside workerd.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/setup/services.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: true,
        },
      },
      "test/worker*/vitest.config.ts",
    ],
  },
});
