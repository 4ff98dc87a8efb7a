import { afterEach, describe, expect, it } from "vitest";
import { imapJob, readyRaws, sleep, testQueue, transports, type TestQueue } from "../../support/queues.ts";

describe.each(transports)("FIFO over %s", (transport) => {
  let q: TestQueue;
  afterEach(async () => q.close());

  it("claims 1,000 jobs in the order they were enqueued", async () => {
    q = testQueue(transport);
    const enqueued: string[] = [];
    for (let start = 0; start < 1000; start += 100) {
      const batch = Array.from({ length: 100 }, (_, i) => ({ job: imapJob(start + i + 1) }));
      const { jobs } = await q.queue.enqueue(batch);
      enqueued.push(...jobs.map((j) => j.jobId));
    }
    const claimed: string[] = [];
    while (claimed.length < 1000) {
      const { claims } = await q.queue.claim({ count: 7 });
      expect(claims.length).toBeGreaterThan(0);
      claimed.push(...claims.map((c) => c.jobId));
      await q.queue.ack(claims);
    }
    expect(claimed).toEqual(enqueued);
  });

  it("a retried job waits its backoff, then rejoins at the end of the line", async () => {
    q = testQueue(transport, { backoffBaseMs: 400, backoffMaxMs: 400 });
    const { jobs } = await q.queue.enqueue([{ job: imapJob(1) }, { job: imapJob(2) }]);
    const [a, b] = jobs.map((j) => j.jobId);
    const first = await q.queue.claim();
    expect(first.claims[0]?.jobId).toBe(a);
    const failed = await q.queue.fail(first.claims[0]!, { error: "imap_timeout" });
    expect(failed.status).toBe("retry");
    const dueIn = failed.status === "retry" ? failed.dueAt - first.now : 0;
    expect(dueIn).toBeGreaterThanOrEqual(200); // equal jitter: between half and all of the backoff
    expect(dueIn).toBeLessThanOrEqual(400 + 50);

    const second = await q.queue.claim({ count: 2 });
    expect(second.claims.map((c) => c.jobId)).toEqual([b]); // a is still waiting
    expect(second.nextDelayedAt).toBe(failed.status === "retry" ? failed.dueAt : -1);
    await q.queue.enqueue([{ job: imapJob(3) }]);
    await sleep(dueIn + 20);
    const third = await q.queue.claim({ count: 3 });
    // c was enqueued before a's retry came due, so c goes first; a comes back with its history.
    expect(third.claims.map((c) => c.job.pointer)).toEqual([{ mailbox: "INBOX", uidValidity: "42", uid: 3 }, { mailbox: "INBOX", uidValidity: "42", uid: 1 }]);
    const retried = third.claims[1]!;
    expect(retried.delivery).toBe(2);
    expect(retried.job.attempt).toBe(1);
    expect(retried.job.lastError).toBe("imap_timeout");
  });

  it("released jobs go back to the front of the line in the order they were claimed (a batch of 10)", async () => {
    q = testQueue(transport);
    const { jobs } = await q.queue.enqueue(Array.from({ length: 12 }, (_, i) => ({ job: imapJob(i + 1) })));
    const ids = jobs.map((j) => j.jobId);
    const { claims } = await q.queue.claim({ count: 10 });
    expect(claims.map((c) => c.jobId)).toEqual(ids.slice(0, 10));
    expect(await q.queue.release(claims)).toEqual(claims.map(() => true));
    const again = await q.queue.claim({ count: 12 });
    expect(again.claims.map((c) => c.jobId)).toEqual(ids);
    expect(again.claims.every((c) => c.delivery === 1)).toBe(true);
  });

  it("a release that names a lease twice gives the job back once", async () => {
    q = testQueue(transport);
    const { jobs } = await q.queue.enqueue([1, 2].map((uid) => ({ job: imapJob(uid) })));
    const [a, b] = (await q.queue.claim({ count: 2 })).claims;
    expect(await q.queue.release([a!, b!, a!])).toEqual([true, true, false]);
    expect(await readyRaws(q)).toHaveLength(2);
    expect((await q.queue.claim({ count: 3 })).claims.map((c) => c.jobId)).toEqual(jobs.map((j) => j.jobId));
  });

  it("refuses a payload with email content in it", async () => {
    q = testQueue(transport);
    const withBody = { ...imapJob(1), pointer: { mailbox: "INBOX", uidValidity: "42", uid: 1, subject: "Invoice" } };
    await expect(q.queue.enqueue([{ job: withBody as never }])).rejects.toThrow(/unrecognized_keys/);
    const withRaw = { ...imapJob(1), raw: "From: a@b.c\r\n\r\nhello" };
    await expect(q.queue.enqueue([{ job: withRaw as never }])).rejects.toThrow(/invalid_job/);
    expect(await q.redis.llen(q.settings.keys.ready)).toBe(0);
  });
});
