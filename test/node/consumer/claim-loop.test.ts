// The claim loop against a real Redis: outcomes → ack / retry / dead-letter, heartbeats, waking.
import { afterEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import type { PointerQueue } from "../../../src/queue/queue.ts";
import { Consumer, type JobHandler } from "../../../consumer/runtime/consumer.ts";
import { permanent, retryable, sourceUnavailable } from "../../../consumer/domain/errors.ts";
import { WakeListener } from "../../../consumer/redis/tcp-client.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { imapJob, locate, sleep, testQueue, transports, type TestQueue, uidOf } from "../../support/queues.ts";
import { until } from "../../support/until.ts";

describe.each(transports)("claim loop over %s", (transport) => {
  let q: TestQueue;
  let consumer: Consumer | undefined;
  afterEach(async () => {
    await consumer?.stop();
    consumer = undefined;
    await q.close();
  });

  type Options = { concurrency?: number; ttl?: number; prefetch?: number; prefetchWaitMs?: number; shutdownGraceMs?: number; queue?: PointerQueue };
  function start(handler: JobHandler, options: Options = {}) {
    q = testQueue(transport, { claimTtlMs: options.ttl ?? 60_000, backoffBaseMs: 20, backoffMaxMs: 40, blockSeconds: 0.05, idleMaxSeconds: 0.2, maxAttempts: 3 });
    const logs = captureLogs();
    consumer = another(handler, options, logs.log);
    return logs;
  }

  /** A consumer on the current test queue (`start` first). */
  function another(handler: JobHandler, options: Options = {}, log = captureLogs().log) {
    const wake = transport === "tcp" ? new WakeListener(inject("redisUrl"), q.settings.keys.wake) : undefined;
    const { ttl: _ttl, queue, ...rest } = options;
    const c = new Consumer({ queue: queue ?? q.consumer(), handler, log, concurrency: 4, ...rest, ...(wake ? { wake } : {}) });
    c.start();
    return c;
  }

  it("processed and skipped outcomes are acked and logged with the job's identifiers", async () => {
    const logs = start(async (claim) => (uidOf(claim) === 2 ? { outcome: "skipped", reason: "source_unavailable:imap_message_not_found" } : { outcome: "processed", messages: [] }));
    const { jobs } = await q.queue.enqueue([1, 2, 3].map((uid) => ({ job: imapJob(uid) })));
    await until(() => consumer!.counters.acked + consumer!.counters.skipped === 3);
    for (const job of jobs) expect(await locate(q, job.jobId)).toEqual([]);
    expect(logs.events("inbound_email_queue_consume_start")).toHaveLength(3);
    expect(logs.events("inbound_email_queue_ack")).toHaveLength(2);
    expect(logs.events("inbound_email_queue_skip")[0]).toMatchObject({ jobId: jobs[1]!.jobId, provider: "imap", tenantId: "tenant-1", attempt: 1, outcome: "skipped", reason: "source_unavailable:imap_message_not_found", durationMs: expect.any(Number) });
  });

  it("classified errors: skip acks with the code, permanent dead-letters at once, transient retries then dead-letters", async () => {
    const seen = new Map<number, number>();
    const logs = start(async (claim) => {
      const uid = uidOf(claim);
      seen.set(uid, (seen.get(uid) ?? 0) + 1);
      if (uid === 1) throw sourceUnavailable("microsoft_message_not_found", "gone");
      if (uid === 2) throw permanent("imap_auth_failed", "bad password");
      throw retryable("imap_timeout", "timed out");
    });
    await q.queue.enqueue([1, 2, 3].map((uid) => ({ job: imapJob(uid) })));
    await until(() => consumer!.counters.deadLettered === 2);
    expect(seen).toEqual(new Map([[1, 1], [2, 1], [3, 3]]));
    expect(logs.events("inbound_email_queue_skip")[0]).toMatchObject({ reason: "source_unavailable:microsoft_message_not_found" });
    expect(logs.events("inbound_email_queue_retry")).toHaveLength(2);
    const dlq = logs.events("inbound_email_queue_dlq").map((e) => [e.reason, e.attempts]);
    expect(dlq).toEqual(expect.arrayContaining([["imap_auth_failed", 1], ["imap_timeout", 3]]));
  });

  it("a job slower than the lease TTL is not reclaimed while its heartbeat runs", async () => {
    let runs = 0;
    start(async () => {
      runs++;
      await sleep(900);
      return { outcome: "processed", messages: [] };
    }, { ttl: 200 });
    await q.queue.enqueue([{ job: imapJob(1) }]);
    const reclaimer = q.consumer();
    let requeued = 0;
    for (let i = 0; i < 12; i++) {
      await sleep(100);
      requeued += (await reclaimer.reclaim()).requeued;
    }
    await until(() => consumer!.counters.acked === 1);
    expect(requeued).toBe(0);
    expect(runs).toBe(1);
    expect(consumer!.counters.stale).toBe(0);
  });

  it("an idle consumer picks up new work promptly", async () => {
    start(async () => ({ outcome: "processed", messages: [] }));
    await sleep(400); // idle long enough to reach the longest wait
    const started = Date.now();
    await q.queue.enqueue([{ job: imapJob(1) }]);
    await until(() => consumer!.counters.acked === 1);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("prefetched jobs wait under a renewed lease and run in claim order, each once", async () => {
    const ran: number[] = [];
    start(async (claim) => {
      ran.push(uidOf(claim));
      await sleep(150);
      return { outcome: "processed", messages: [] };
    }, { concurrency: 1, prefetch: 3, ttl: 200 });
    await q.queue.enqueue([1, 2, 3, 4, 5].map((uid) => ({ job: imapJob(uid) })));
    const reclaimer = q.consumer();
    let requeued = 0;
    while (consumer!.counters.acked < 5) {
      await sleep(50);
      requeued += (await reclaimer.reclaim()).requeued;
    }
    expect(ran).toEqual([1, 2, 3, 4, 5]);
    expect(requeued).toBe(0);
    expect(consumer!.counters.stale).toBe(0);
  });

  it("a prefetched job stuck behind a slow one goes back to the queue, and an idle consumer runs it", async () => {
    const ranBy: Record<number, string> = {};
    start(async (claim) => {
      ranBy[uidOf(claim)] = "first";
      if (uidOf(claim) === 1) await sleep(1500);
      return { outcome: "processed", messages: [] };
    }, { concurrency: 1, prefetch: 1, prefetchWaitMs: 200 });
    await q.queue.enqueue([1, 2].map((uid) => ({ job: imapJob(uid) })));
    await until(async () => (await q.queue.stats()).ready === 0);
    const second = another(async (claim) => {
      ranBy[uidOf(claim)] = "second";
      return { outcome: "processed", messages: [] };
    }, { concurrency: 1 });
    try {
      await until(() => second.counters.acked === 1, 1200);
      expect(ranBy).toEqual({ 1: "first", 2: "second" });
      expect(consumer!.counters.released).toBe(1);
      await until(() => consumer!.counters.acked === 1);
    } finally {
      await second.stop();
    }
  });

  it("stop() with every slot busy on a job longer than the grace period returns after the grace period, the jobs released", async () => {
    start(async () => {
      await sleep(4000);
      return { outcome: "processed", messages: [] };
    }, { concurrency: 2, prefetch: 1, shutdownGraceMs: 200 });
    const { jobs } = await q.queue.enqueue([1, 2, 3].map((uid) => ({ job: imapJob(uid) })));
    await until(async () => (await q.queue.stats()).ready === 0);
    const started = Date.now();
    await consumer!.stop();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(consumer!.counters.released).toBe(3);
    for (const job of jobs) expect(await locate(q, job.jobId)).toEqual(["ready"]);
    consumer = undefined;
  });

  it("acks ride along with claims: a busy consumer spends about one script call per batch of jobs", async () => {
    q = testQueue(transport, { claimTtlMs: 60_000, blockSeconds: 0.05, idleMaxSeconds: 0.2 });
    const queue = q.consumer();
    const calls = { claim: 0, claimWithAcks: 0, ack: 0 };
    const claim = queue.claim.bind(queue);
    const ack = queue.ack.bind(queue);
    queue.claim = (o) => (calls.claim++, o?.ack?.length && calls.claimWithAcks++, claim(o));
    queue.ack = (leases) => (calls.ack++, ack(leases));
    await q.queue.enqueue(Array.from({ length: 200 }, (_, i) => ({ job: imapJob(i + 1) })));
    consumer = another(async () => ({ outcome: "processed", messages: [] }), { concurrency: 1, prefetch: 4, queue });
    await until(() => consumer!.counters.acked === 200);
    // 200 jobs, 5 per claim: about 40 claims, each carrying the acks of the previous batch.
    expect(calls.claim).toBeLessThanOrEqual(60);
    expect(calls.claimWithAcks).toBeGreaterThanOrEqual(calls.claim - 3);
    expect(calls.ack).toBeLessThanOrEqual(2);
  });
  it("prefetch follows the jobs' running time: about one job ahead of slow jobs, up to the limit ahead of quick ones", async () => {
    // Slow jobs: two running, at most one held ahead, from the first claim on. (400 ms: the target
    // is measured against the claim round trip, which a loaded machine stretches to tens of ms.)
    start(async () => {
      await sleep(400);
      return { outcome: "processed", messages: [] };
    }, { concurrency: 2, prefetch: 16 });
    await q.queue.enqueue(Array.from({ length: 8 }, (_, i) => ({ job: imapJob(i + 1) })));
    let mostHeld = 0;
    while (consumer!.counters.acked < 8) {
      mostHeld = Math.max(mostHeld, (await q.queue.stats()).processing);
      await sleep(10);
    }
    expect(mostHeld).toBeGreaterThanOrEqual(2);
    expect(mostHeld).toBeLessThanOrEqual(3);
    await consumer!.stop();

    // Quick jobs: claims grow to the limit (2 running + 16 ahead, in two halves of 9).
    const queue = q.consumer();
    const asked: number[] = [];
    const claim = queue.claim.bind(queue);
    queue.claim = (o) => (asked.push(o?.count ?? 1), claim(o));
    await q.queue.enqueue(Array.from({ length: 1000 }, (_, i) => ({ job: imapJob(i + 100) })));
    consumer = another(async () => ({ outcome: "processed", messages: [] }), { concurrency: 2, prefetch: 16, queue });
    await until(() => consumer!.counters.acked === 1000);
    expect(Math.max(...asked)).toBe(9);
  });

  it("with concurrency above 1 a second claim goes out while the first is in flight, never a third; each job runs once", async () => {
    q = testQueue(transport, { claimTtlMs: 60_000, blockSeconds: 0.05, idleMaxSeconds: 0.2 });
    const queue = q.consumer();
    let out = 0;
    let mostOut = 0;
    const claim = queue.claim.bind(queue);
    queue.claim = async (o) => {
      mostOut = Math.max(mostOut, ++out);
      try {
        return await claim(o);
      } finally {
        out--;
      }
    };
    const runs = new Map<number, number>();
    await q.queue.enqueue(Array.from({ length: 2000 }, (_, i) => ({ job: imapJob(i + 1) })));
    consumer = another(async (c) => {
      runs.set(uidOf(c), (runs.get(uidOf(c)) ?? 0) + 1);
      return { outcome: "processed", messages: [] };
    }, { concurrency: 4, queue });
    await until(() => consumer!.counters.acked === 2000);
    expect(mostOut).toBe(2);
    expect(runs.size).toBe(2000);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect((await q.queue.stats())).toMatchObject({ ready: 0, processing: 0, inflight: 0 });
  });
  it("when jobs turn slow and the measured prefetch shrinks below what is held, finished jobs are still acked promptly", async () => {
    let finished = 0;
    start(async (claim) => {
      if (uidOf(claim) > 40) await sleep(150);
      finished++;
      return { outcome: "processed", messages: [] };
    }, { concurrency: 2, prefetch: 16 });
    await q.queue.enqueue(Array.from({ length: 60 }, (_, i) => ({ job: imapJob(i + 1) })));
    let mostBehind = 0;
    while (consumer!.counters.acked < 60) {
      await sleep(20);
      // Quick jobs finish a whole batch at a time; measure once the slow ones are finishing.
      if (finished >= 44) mostBehind = Math.max(mostBehind, finished - consumer!.counters.acked);
    }
    // Without acks going out on their own, up to 16 finished jobs waited for the held ones to drain.
    expect(mostBehind).toBeLessThanOrEqual(4);
  });
});
