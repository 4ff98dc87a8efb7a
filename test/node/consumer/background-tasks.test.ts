// No background task may crash the consumer: with PostgreSQL unreachable while the hourly upkeep
// (here every 200 ms) and the reclaim run, the consumer process logs the failures with a code,
// lives on, and works again once the database is back.
import { spawn } from "node:child_process";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createPostgresDatabase, ADMIN_URL } from "../../support/database.ts";
import { startTcpProxy, type TcpProxy } from "../../support/tcp-proxy.ts";
import { imapJob, locate, testQueue, type TestQueue } from "../../support/queues.ts";
import { until } from "../../support/until.ts";

describe("background tasks", () => {
  let q: TestQueue | undefined;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await q?.close();
    await proxy?.close();
  });

  it("PostgreSQL unreachable during upkeep: the consumer logs the failure with its code, lives, and recovers", async () => {
    q = testQueue("tcp");
    const database = await createPostgresDatabase();
    const pg = new URL(ADMIN_URL);
    proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    const url = new URL(database.url);
    const child = spawn(process.execPath, ["consumer/cli/main.ts", "consumer"], {
      env: {
        ...process.env,
        REDIS_URL: inject("redisUrl"),
        UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: q.settings.keys.ready.replace(/ready$/, ""),
        UNIFIED_INBOUND_EMAIL_QUEUE_BACKOFF_BASE_MS: "100",
        UNIFIED_INBOUND_EMAIL_QUEUE_BACKOFF_MAX_MS: "200",
        DATABASE_URL: `postgres://${url.username}@127.0.0.1:${proxy.port}${url.pathname}`,
        INLET_IMAP_LISTENER: "0",
        INLET_RENEW_INTERVAL_MS: "200",
        INLET_RECLAIM_INTERVAL_MS: "200",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    try {
      await until(() => output.includes("inbound_email_consumer_started"), 30_000, "the consumer starting");
      await proxy.cut();
      await until(() => /"event":"inbound_email_background_task_failed","task":"provider_upkeep","code":"[a-z_]+"/.test(output), 10_000, "a logged upkeep failure");
      await new Promise((r) => setTimeout(r, 1000)); // several more failing ticks
      expect(child.exitCode).toBeNull();
      expect(output).not.toMatch(/unhandled|Unhandled/);

      await proxy.restore();
      const { jobs } = await q.queue.enqueue([{ job: imapJob(1, { providerId: "not-connected" }) }]);
      // The job needs the database: once it is back, it is done (a deterministic skip) and acked.
      await until(async () => (await locate(q!, jobs[0]!.jobId)).length === 0 && output.includes('"reason":"provider_not_found"'), 20_000, "the job done after the database came back");
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      await database.drop();
    }
  }, 90_000);
});
