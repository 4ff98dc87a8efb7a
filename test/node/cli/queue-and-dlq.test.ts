// `inlet queue stats` and `inlet dlq list|show|requeue|purge` against a real Redis, over TCP and
// REST, with bad arguments and an unreachable Redis.
import { afterEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { inlet } from "../../support/cli.ts";
import { imapJob, testQueue, transports, type TestQueue, type Transport } from "../../support/queues.ts";

function envFor(q: TestQueue, transport: Transport): Record<string, string | undefined> {
  const prefix = q.settings.keys.ready.replace(/ready$/, "");
  return transport === "tcp"
    ? { UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: prefix, REDIS_URL: inject("redisUrl"), UPSTASH_REDIS_REST_URL: undefined }
    : { UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: prefix, REDIS_URL: undefined, UPSTASH_REDIS_REST_URL: inject("restUrl"), UPSTASH_REDIS_REST_TOKEN: inject("restToken") };
}

describe.each(transports)("inlet queue and dlq over %s", (transport) => {
  let q: TestQueue;
  afterEach(async () => q.close());

  it("queue stats shows depths, retries pending and dead letters", async () => {
    q = testQueue(transport);
    await q.queue.enqueue([1, 2, 3].map((uid) => ({ job: imapJob(uid) })));
    const [a, b] = (await q.queue.claim({ count: 2 })).claims;
    await q.queue.fail(a!, { error: "x" });
    await q.queue.fail(b!, { error: "y", permanent: true });
    const json = await inlet(["queue", "stats", "--json"], envFor(q, transport));
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ready: 1, processing: 0, delayed: 1, dlq: 1, oldestReadyAgeMs: expect.any(Number) });
    const table = await inlet(["queue", "stats"], envFor(q, transport));
    expect(table.stdout).toMatch(/retries pending\s+1/);
    expect(table.stdout).toMatch(/dead letters\s+1/);
  });

  it("dlq list, show, requeue and purge work on real dead letters", async () => {
    q = testQueue(transport);
    const env = envFor(q, transport);
    const { jobs } = await q.queue.enqueue([1, 2, 3].map((uid) => ({ job: imapJob(uid) })));
    for (const claim of (await q.queue.claim({ count: 3 })).claims) await q.queue.fail(claim, { error: "imap_auth_failed", permanent: true });
    const [first, second, third] = jobs.map((j) => j.jobId);

    const list = await inlet(["dlq", "list"], env);
    expect(list.code).toBe(0);
    for (const id of [first, second, third]) expect(list.stdout).toContain(id);
    expect(list.stdout).toContain("imap_auth_failed");

    const show = await inlet(["dlq", "show", first!], env);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: first, attempts: 1, lastError: "imap_auth_failed", job: { jobId: first, pointer: { uid: 1 } } });

    expect((await inlet(["dlq", "requeue", first!], env)).stdout).toBe("requeued 1\n");
    expect((await inlet(["dlq", "purge", second!], env)).stdout).toBe("purged 1\n");
    expect(await q.queue.stats()).toMatchObject({ ready: 1, dlq: 1 });
    expect((await inlet(["dlq", "requeue", "--all"], env)).stdout).toBe("requeued 1\n");
    expect(await q.queue.stats()).toMatchObject({ ready: 2, dlq: 0 });
    expect((await inlet(["dlq", "purge", "--all"], env)).code).toBe(0);
    expect((await inlet(["dlq", "list"], env)).stdout).toBe("no dead letters\n");
    void third;
  });

  it("unknown ids and bad arguments fail with a clear message and exit code", async () => {
    q = testQueue(transport);
    const env = envFor(q, transport);
    const missing = await inlet(["dlq", "show", "nope"], env);
    expect(missing).toMatchObject({ code: 1, stderr: "inlet: no dead letter with id nope\n" });
    expect(await inlet(["dlq", "requeue"], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("give the ID of a dead letter, or --all") });
    expect(await inlet(["dlq", "purge", "x", "--all"], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("not both") });
    expect(await inlet(["dlq", "list", "--limit", "0"], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("positive whole number") });
    expect(await inlet(["queue", "nope"], env)).toMatchObject({ code: 2 });
    expect(await inlet(["frobnicate"], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command") });
  });
});

describe("inlet with an unreachable Redis", () => {
  it("says so and exits 1 over TCP", async () => {
    const result = await inlet(["queue", "stats"], { REDIS_URL: "redis://127.0.0.1:1", UPSTASH_REDIS_REST_URL: undefined });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot reach the queue's Redis at redis://127.0.0.1:1");
  });

  it("says so and exits 1 over REST", async () => {
    const result = await inlet(["dlq", "list"], { REDIS_URL: undefined, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1", UPSTASH_REDIS_REST_TOKEN: "x" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot reach the queue's Redis at http://127.0.0.1:1");
  });
});
