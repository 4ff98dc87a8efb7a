// Guarantee 6: dead letters keep job, attempts, last error and times; they can be redriven
// (attempts reset) and purged. A malformed payload never blocks the queue.
import { afterEach, describe, expect, it } from "vitest";
import { imapJob, locate, testQueue, transports, type TestQueue } from "../../support/queues.ts";

describe.each(transports)("dead letters over %s", (transport) => {
  let q: TestQueue;
  afterEach(async () => q.close());

  it("keep job, attempts, last error and times; redrive puts them back with attempts reset", async () => {
    q = testQueue(transport, { maxAttempts: 2, backoffBaseMs: 1, backoffMaxMs: 1 });
    const before = Date.now();
    const { jobs } = await q.queue.enqueue([{ job: imapJob(5) }]);
    const id = jobs[0]!.jobId;
    const first = (await q.queue.claim()).claims[0]!;
    expect(await q.queue.fail(first, { error: "imap_timeout" })).toMatchObject({ status: "retry" });
    await new Promise((r) => setTimeout(r, 10));
    const second = (await q.queue.claim()).claims[0]!;
    expect(second.delivery).toBe(2);
    expect(await q.queue.fail(second, { error: "imap_connection_reset" })).toEqual({ status: "dead", attempts: 2 });

    const { total, records } = await q.queue.deadLetters();
    expect(total).toBe(1);
    const record = records[0]!;
    expect(record).toMatchObject({ id, reason: "imap_connection_reset", attempts: 2, lastError: "imap_connection_reset", enqueuedAt: jobs[0]!.enqueuedAt });
    expect(record.deadAt).toBeGreaterThanOrEqual(before);
    expect(record.job).toMatchObject({ jobId: id, attempt: 2, lastError: "imap_connection_reset", pointer: { uid: 5 } });

    expect(await q.queue.requeueDeadLetters(id)).toBe(1);
    expect(await locate(q, id)).toEqual(["ready"]);
    const redriven = (await q.queue.claim()).claims[0]!;
    expect(redriven.job.attempt).toBe(0);
    expect(redriven.delivery).toBe(1);
    expect(redriven.job.lastError).toBe("imap_connection_reset");
  });

  it("a permanent failure dead-letters at once", async () => {
    q = testQueue(transport);
    await q.queue.enqueue([{ job: imapJob(5) }]);
    const claim = (await q.queue.claim()).claims[0]!;
    expect(await q.queue.fail(claim, { error: "imap_auth_failed", permanent: true })).toEqual({ status: "dead", attempts: 1 });
  });

  it("purge deletes one record or all; requeue --all redrives every job", async () => {
    q = testQueue(transport);
    const { jobs } = await q.queue.enqueue([1, 2, 3].map((uid) => ({ job: imapJob(uid) })));
    for (const claim of (await q.queue.claim({ count: 3 })).claims) await q.queue.fail(claim, { error: "x", permanent: true });
    expect(await q.queue.purgeDeadLetters(jobs[0]!.jobId)).toBe(1);
    expect(await q.queue.purgeDeadLetters("no-such-id")).toBe(0);
    expect(await q.queue.requeueDeadLetters("*")).toBe(2);
    expect((await q.queue.stats()).ready).toBe(2);
    expect(await q.queue.purgeDeadLetters("*")).toBe(0);
  });

  it("a malformed payload written by hand goes to the dead-letter list with a reason on claim, and never blocks the queue", async () => {
    q = testQueue(transport);
    const { keys } = q.settings;
    await q.queue.enqueue([{ job: imapJob(1) }]);
    await q.redis.lpush(keys.ready, "{not json");
    await q.redis.lpush(keys.ready, JSON.stringify({ jobId: "bad-shape", provider: "imap", pointer: { mailbox: "INBOX" } }));
    await q.queue.enqueue([{ job: imapJob(2) }]);

    const result = await q.queue.claim({ count: 5 });
    expect(result.claims.map((c) => c.job.pointer)).toEqual([{ mailbox: "INBOX", uidValidity: "42", uid: 1 }, { mailbox: "INBOX", uidValidity: "42", uid: 2 }]);
    expect(result.rejected).toEqual([{ jobId: "bad-shape", reason: expect.stringMatching(/^invalid_job:/) }]);
    const { records } = await q.queue.deadLetters();
    const reasons = records.map((r) => r.reason).sort();
    expect(reasons[0]).toMatch(/^invalid_job:/);
    expect(reasons[1]).toBe("malformed_payload");
    expect(records.find((r) => r.reason === "malformed_payload")).toMatchObject({ payload: "{not json", id: expect.stringMatching(/^malformed:[0-9a-f]{40}$/) });
    const stats = await q.queue.stats();
    expect(stats).toMatchObject({ ready: 0, processing: 2, inflight: 2, dlq: 2 });
  });
});
