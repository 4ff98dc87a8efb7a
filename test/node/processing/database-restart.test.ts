// A PostgreSQL restart costs retries, never the process: every backend of the consumer's pool is
// terminated (pg_terminate_backend, as a restart or an administrator does) while queries run,
// while transactions hold a client idle between statements, and while messages are applied.
// The work in flight fails as retryable database_unavailable; the process lives, its next query
// and transaction succeed, and the messages applied again become exactly one ticket each.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createPostgresDatabase } from "../../support/database.ts";

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["test/support/fixtures/terminated-backends.ts"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("PostgreSQL restart", () => {
  it("backends terminated under running queries, idle transactions and message processing: the process lives, the failures are retryable, the next query succeeds", async () => {
    const created = await createPostgresDatabase();
    try {
      const result = await run({ DATABASE_URL: created.url });
      expect(result.code, result.stderr.slice(-2000)).toBe(0);
      const summary = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { terminated: number; outcomes: string[]; next: number; again: string[]; tickets: number };
      expect(summary.terminated).toBe(12);
      // The four idle transactions, the four running queries and the four messages held in flight.
      const failures = summary.outcomes.filter((o) => o !== "ok");
      expect(failures).toHaveLength(12);
      expect(failures.every((f) => /^retry:database_unavailable:(admin_shutdown|connection_lost)$/.test(f)), failures.join(", ")).toBe(true);
      expect(summary.next).toBe(1);
      expect(summary.again.every((o) => o === "processed")).toBe(true);
      expect(summary.tickets).toBe(20);
    } finally {
      await created.drop();
    }
  });
});
