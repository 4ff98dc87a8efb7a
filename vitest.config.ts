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
          // Consumers started by tests (in process or as children) serve HTTP only where a test asks.
          env: { INLET_HTTP_PORT: "0" },
        },
      },
      "test/worker*/vitest.config.ts",
    ],
  },
});
