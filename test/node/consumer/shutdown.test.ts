// Graceful shutdown: SIGTERM during 20 running jobs loses none, processes none twice, and the
// process exits 0 within the grace period.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createPostgresDatabase } from "../../support/database.ts";
import { imapJob, locate, readyRaws, testQueue, type TestQueue } from "../../support/queues.ts";

const GRACE_MS = 1500;

function startConsumer(prefix: string) {
  const child = spawn(process.execPath, ["test/support/fixtures/sigterm-consumer.ts"], {
    env: { ...process.env, TEST_PREFIX: prefix, GRACE_MS: String(GRACE_MS) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const started = () => output.split("\n").filter((l) => l.includes('"inbound_email_queue_consume_start"')).length;
  return { child, exited, started, output: () => output };
}

describe("graceful shutdown", () => {
  let q: TestQueue;
  afterEach(async () => q.close());

  it("SIGTERM during 20 running jobs: none lost, none processed twice, exit 0 within the grace period", async () => {
    q = testQueue("tcp");
    const prefix = q.settings.keys.ready.replace(/ready$/, "");
    // 10 jobs finish inside the grace period (300 ms), 10 would take far longer (60 s).
    const { jobs } = await q.queue.enqueue(Array.from({ length: 20 }, (_, i) => ({ job: imapJob(i < 10 ? 300 : 60_000) })));
    const first = startConsumer(prefix);
    const deadline = Date.now() + 15_000;
    while (first.started() < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(first.started()).toBe(20);

    const signalledAt = Date.now();
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS + 2000);

    const completions = await q.redis.hgetall(`${prefix}completions`);
    expect(Object.keys(completions)).toHaveLength(10);
    const released = first.output().split("\n").filter((l) => l.includes('"inbound_email_queue_release"')).length;
    expect(released).toBe(10);
    for (const job of jobs) {
      const places = await locate(q, job.jobId);
      expect(places).toEqual(completions[job.jobId] ? [] : ["ready"]);
    }
    // Released jobs did not lose an attempt.
    const ready = (await readyRaws(q)).map((r) => JSON.parse(r) as { attempt: number });
    expect(ready.every((j) => j.attempt === 0)).toBe(true);

    // The slow jobs, made quick, are finished by the next consumer: each job completed once.
    const { keys } = q.settings;
    await q.redis.del(keys.ready, keys.rotation, ...(await q.redis.keys(`${keys.lanes}*`)));
    const rest = jobs.filter((j) => !completions[j.jobId]);
    await q.redis.lpush(q.settings.keys.ready, ...rest.map((j) => JSON.stringify({ ...j, pointer: { ...j.pointer, uid: 1 } })));
    const second = startConsumer(prefix);
    const end = Date.now() + 15_000;
    while (Object.keys(await q.redis.hgetall(`${prefix}completions`)).length < 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    const all = await q.redis.hgetall(`${prefix}completions`);
    expect(Object.keys(all).sort()).toEqual(jobs.map((j) => j.jobId).sort());
    expect(Object.values(all).every((n) => n === "1")).toBe(true);
  });

  it("one SIGTERM to the process group of `inlet consumer` behind the shim is one stop request: a graceful shutdown, not a forced exit", async () => {
    q = testQueue("tcp");
    const database = await createPostgresDatabase();
    const systemNode = ["/usr/bin/node", "/usr/local/bin/node"].find((p) => existsSync(p)) ?? process.execPath;
    const child = spawn(systemNode, ["bin/inlet.js", "consumer"], {
      env: { ...process.env, REDIS_URL: inject("redisUrl"), UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: q.settings.keys.ready.replace(/ready$/, ""), DATABASE_URL: database.url, INLET_IMAP_LISTENER: "0" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, as a container's or a terminal's
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes("inbound_email_consumer_started") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(output).toContain("inbound_email_consumer_started");
      process.kill(-child.pid!, "SIGTERM");
      expect(await exited, `the consumer's last output: ${output.slice(-2000)}`).toBe(0);
      expect(output).toContain('"inbound_email_consumer_stopped"');
      expect(output).not.toContain("second signal");
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
      await database.drop();
    }
  });
});
