// Leases of held jobs: the lease keeper renews them and reports the ones the queue took back;
// the consumer stops a running job whose lease is lost and never starts a prefetched one.
import { afterEach, describe, expect, inject, it } from "vitest";
import { Consumer, type JobHandler } from "../../../consumer/runtime/consumer.ts";
import { InletError } from "../../../consumer/domain/errors.ts";
import { LeaseKeeper } from "../../../consumer/runtime/lease-keeper.ts";
import { WakeListener } from "../../../consumer/redis/tcp-client.ts";
import type { Claim, PointerQueue } from "../../../src/queue/queue.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { imapJob, sleep, testQueue, transports, type TestQueue, uidOf } from "../../support/queues.ts";
import { until } from "../../support/until.ts";

describe.each(transports)("leases over %s", (transport) => {
  let q: TestQueue;
  let consumer: Consumer | undefined;
  afterEach(async () => {
    await consumer?.stop();
    consumer = undefined;
    await q.close();
  });

  /** Take a job's lease away as a reclaim would once it expired. */
  async function takeAway(jobId: string) {
    await q.redis.zadd(q.settings.keys.lease, 0, jobId);
    expect((await q.queue.reclaim()).jobIds).toContain(jobId);
  }

  function startConsumer(handler: JobHandler, options: { concurrency: number; prefetch: number; queue?: PointerQueue }) {
    const wake = transport === "tcp" ? new WakeListener(inject("redisUrl"), q.settings.keys.wake) : undefined;
    consumer = new Consumer({ queue: options.queue ?? q.consumer(), handler, log: captureLogs().log, concurrency: options.concurrency, prefetch: options.prefetch, ...(wake ? { wake } : {}) });
    consumer.start();
    return consumer;
  }

  it("the keeper renews every held lease in one call and reports a lease taken back once, then forgets it", async () => {
    q = testQueue(transport, { claimTtlMs: 5_000 });
    await q.queue.enqueue([1, 2].map((uid) => ({ job: imapJob(uid) })));
    const { claims } = await q.queue.claim({ count: 2 });
    const [a, b] = claims as [Claim, Claim];
    const lost: Claim[] = [];
    const keeper = new LeaseKeeper({ queue: q.queue, log: captureLogs().log, intervalMs: 60_000, onLost: (c) => lost.push(c) });
    keeper.track(a, 1);
    keeper.track(b, 1);
    const before = Date.now();
    await keeper.renew();
    expect(keeper.leaseUntil(a)).toBeGreaterThanOrEqual(before + 5_000);
    expect(Number(await q.redis.zscore(q.settings.keys.lease, b.jobId))).toBeGreaterThan(before);

    await takeAway(b.jobId);
    await keeper.renew();
    await keeper.renew();
    expect(lost).toEqual([b]);
    expect(keeper.leaseUntil(b)).toBe(0);
    expect(keeper.size).toBe(1);
  });

  it("the keeper keeps its leases when a renewal fails, and tries again at the next heartbeat", async () => {
    q = testQueue(transport, { claimTtlMs: 5_000 });
    await q.queue.enqueue([{ job: imapJob(1) }]);
    const queue = q.consumer();
    const claim = (await queue.claim()).claims[0]!;
    const renew = queue.renew.bind(queue);
    let calls = 0;
    queue.renew = (leases) => (++calls === 1 ? Promise.reject(new Error("connection reset")) : renew(leases));
    const logs = captureLogs();
    const lost: Claim[] = [];
    const keeper = new LeaseKeeper({ queue, log: logs.log, intervalMs: 30, onLost: (c) => lost.push(c) });
    keeper.track(claim, 1);
    keeper.start();
    try {
      await until(() => keeper.leaseUntil(claim) > 1, 2_000);
    } finally {
      keeper.stop();
    }
    expect(logs.events("inbound_email_queue_renew_error")).toHaveLength(1);
    expect(lost).toEqual([]);
  });

  it("a running job whose lease is taken back is aborted as lease_lost, and its late settle changes nothing", async () => {
    q = testQueue(transport, { claimTtlMs: 300, blockSeconds: 0.05, idleMaxSeconds: 0.2, backoffBaseMs: 20, backoffMaxMs: 40 });
    const { jobs } = await q.queue.enqueue([{ job: imapJob(1) }]);
    const reasons: string[] = [];
    const deliveries: number[] = [];
    const c = startConsumer(async (claim, signal) => {
      deliveries.push(claim.delivery);
      if (claim.delivery > 1) return { outcome: "processed", messages: [] };
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      reasons.push(signal.reason instanceof InletError ? signal.reason.code : String(signal.reason));
      throw signal.reason;
    }, { concurrency: 1, prefetch: 0 });
    await until(() => deliveries.length === 1);
    await takeAway(jobs[0]!.jobId);
    await until(() => c.counters.acked === 1);
    expect(reasons).toEqual(["lease_lost"]);
    expect(deliveries).toEqual([1, 2]);
    expect(c.counters.stale).toBe(1);
    expect(c.counters.retried).toBe(0);
  });

  it("a prefetched job whose lease is taken back never starts from the buffer: it runs once, from the queue", async () => {
    q = testQueue(transport, { claimTtlMs: 300, blockSeconds: 0.05, idleMaxSeconds: 0.2 });
    const { jobs } = await q.queue.enqueue([1, 2].map((uid) => ({ job: imapJob(uid) })));
    const runs: [number, number][] = [];
    const c = startConsumer(async (claim) => {
      runs.push([uidOf(claim), claim.delivery]);
      if (uidOf(claim) === 1) await sleep(800);
      return { outcome: "processed", messages: [] };
    }, { concurrency: 1, prefetch: 1 });
    await until(async () => runs.length === 1 && (await q.queue.stats()).ready === 0);
    await takeAway(jobs[1]!.jobId);
    await until(() => c.counters.acked === 2);
    expect(runs).toEqual([[1, 1], [2, 2]]);
    expect(c.counters.stale).toBe(0); // dropped when the loss was reported, not found stale at start
  });

  it("a prefetched job whose lease may have lapsed while renewals failed is not started", async () => {
    q = testQueue(transport, { claimTtlMs: 300, blockSeconds: 0.05, idleMaxSeconds: 0.2 });
    await q.queue.enqueue([1, 2].map((uid) => ({ job: imapJob(uid) })));
    const queue = q.consumer();
    const renew = queue.renew.bind(queue);
    let renewalsFail = true;
    queue.renew = (leases) => (renewalsFail ? Promise.reject(new Error("connection reset")) : renew(leases));
    const runs: [number, number][] = [];
    const c = startConsumer(async (claim) => {
      runs.push([uidOf(claim), claim.delivery]);
      if (uidOf(claim) === 1) await sleep(500);
      return { outcome: "processed", messages: [] };
    }, { concurrency: 1, prefetch: 1, queue });
    await until(() => c.counters.stale === 1 && c.counters.acked === 1);
    expect(runs).toEqual([[1, 1]]);
    // Its lease ran out unrenewed: reclaim returns it, counting the attempt, and it runs then.
    renewalsFail = false;
    await until(async () => (await q.queue.reclaim()).requeued > 0);
    await until(() => c.counters.acked === 2);
    expect(runs).toEqual([[1, 1], [2, 2]]);
  });
});
