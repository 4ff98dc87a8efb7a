// Guarantee 5: at any crash point every job is in exactly one of ready, delayed,
// processing-with-lease, dead-letter, or acked; reclaim repairs what a crash leaves behind.
import { afterEach, describe, expect, it } from "vitest";
import type { PointerQueue } from "../../../src/queue/queue.ts";
import { scripts } from "../../../src/queue/scripts.generated.ts";
import { imapJob, locate, readyRaws, sleep, testQueue, transports, type TestQueue } from "../../support/queues.ts";

const TTL = 100;

describe.each(transports)("crash safety over %s", (transport) => {
  let q: TestQueue;
  afterEach(async () => q.close());

  async function oneJob(queue: PointerQueue) {
    const { jobs } = await queue.enqueue([{ job: imapJob(1) }]);
    return jobs[0]!.jobId;
  }

  async function expectOnePlace(jobId: string, place: string | undefined) {
    expect(await locate(q, jobId)).toEqual(place ? [place] : []);
  }

  it("after enqueue, before any claim: the job waits in ready", async () => {
    q = testQueue(transport);
    const id = await oneJob(q.queue);
    await expectOnePlace(id, "ready");
  });

  it("a consumer that dies after claim (or mid-work, or before ack): reclaim puts the job back, counting the attempt", async () => {
    q = testQueue(transport, { claimTtlMs: TTL });
    const id = await oneJob(q.queue);
    await q.consumer().claim(); // this consumer is never heard from again
    await expectOnePlace(id, "processing");
    expect((await q.queue.reclaim()).requeued).toBe(0); // the lease still holds
    await sleep(TTL + 30);
    const result = await q.queue.reclaim();
    expect(result).toMatchObject({ requeued: 1, deadLettered: 0 });
    await expectOnePlace(id, "ready");
    const again = (await q.queue.claim()).claims[0]!;
    expect(again.delivery).toBe(2);
    expect(again.job.lastError).toBe("lease_expired");
  });

  it("a consumer that dies after fail: the retry waits in delayed, then returns", async () => {
    q = testQueue(transport, { backoffBaseMs: 50, backoffMaxMs: 50 });
    const id = await oneJob(q.queue);
    const claim = (await q.queue.claim()).claims[0]!;
    await q.queue.fail(claim, { error: "boom" });
    await expectOnePlace(id, "delayed");
    await sleep(80);
    expect((await q.queue.reclaim()).promoted).toBe(1);
    await expectOnePlace(id, "ready");
  });

  it("a consumer that dies after ack: the job is gone for good", async () => {
    q = testQueue(transport, { claimTtlMs: TTL });
    const id = await oneJob(q.queue);
    const claim = (await q.queue.claim()).claims[0]!;
    await q.queue.ack([claim]);
    await sleep(TTL + 30);
    expect(await q.queue.reclaim()).toMatchObject({ requeued: 0, repaired: 0 });
    await expectOnePlace(id, undefined);
  });

  it("a graceful release returns the job to the front of ready without counting an attempt", async () => {
    q = testQueue(transport);
    const id = await oneJob(q.queue);
    const other = (await q.queue.enqueue([{ job: imapJob(2) }])).jobs[0]!.jobId;
    const claim = (await q.queue.claim()).claims[0]!;
    expect(await q.queue.release([claim])).toEqual([true]);
    await expectOnePlace(id, "ready");
    const next = (await q.queue.claim({ count: 2 })).claims;
    expect(next.map((c) => c.jobId)).toEqual([id, other]);
    expect(next[0]!.delivery).toBe(1);
  });

  it.runIf(transport === "tcp")("a release whose arguments are not whole pairs writes nothing", async () => {
    q = testQueue(transport);
    const id = await oneJob(q.queue);
    const claim = (await q.queue.claim()).claims[0]!;
    const { keys } = q.settings;
    const call = q.redis.eval(scripts.release.source, 8, keys.inflight, keys.processing, keys.lease, keys.rotation, keys.wake, keys.tenantInflight, keys.capped, keys.tenantConfig, keys.lanes, claim.jobId, claim.token, "dangling-job-id");
    await expect(call).rejects.toThrow(/pairs/);
    await expectOnePlace(id, "processing");
    expect(await readyRaws(q)).toHaveLength(0);
  });

  it("a processing entry without lease or inflight record (written by hand) is repaired", async () => {
    q = testQueue(transport);
    const job = { jobId: "hand-written", schemaVersion: 1, provider: "imap", tenantId: "t", providerId: "p", enqueuedAt: Date.now(), attempt: 0, pointer: { mailbox: "INBOX", uidValidity: "1", uid: 9 } };
    await q.redis.lpush(q.settings.keys.processing, JSON.stringify(job));
    await expectOnePlace("hand-written", "processing-without-lease");
    const result = await q.queue.reclaim();
    expect(result).toMatchObject({ repaired: 1, requeued: 1 });
    await expectOnePlace("hand-written", "ready");
    const claim = (await q.queue.claim()).claims[0]!;
    expect(claim.delivery).toBe(2); // the lost delivery counted
  });

  it("an inflight record whose lease is missing is repaired", async () => {
    q = testQueue(transport);
    const id = await oneJob(q.queue);
    await q.queue.claim();
    await q.redis.zrem(q.settings.keys.lease, id);
    await expectOnePlace(id, "processing-without-lease");
    expect(await q.queue.reclaim()).toMatchObject({ repaired: 1, requeued: 1 });
    await expectOnePlace(id, "ready");
  });

  it("a job whose consumer dies on it every time reaches the dead-letter list after exactly MAX_ATTEMPTS deliveries", async () => {
    q = testQueue(transport, { claimTtlMs: 40, maxAttempts: 4 });
    const id = await oneJob(q.queue);
    let deliveries = 0;
    for (let i = 0; i < 10; i++) {
      const { claims } = await q.queue.claim();
      if (claims.length === 0) break;
      deliveries++;
      expect(claims[0]!.delivery).toBe(deliveries);
      await sleep(60); // the consumer crashed: no ack, no fail
      await q.queue.reclaim();
    }
    expect(deliveries).toBe(4);
    await expectOnePlace(id, "dlq");
    const { records } = await q.queue.deadLetters();
    expect(records[0]).toMatchObject({ id, reason: "lease_expired", attempts: 4 });
  });
});
