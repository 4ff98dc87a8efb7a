// How an idle consumer waits for work: bounded waits that double while nothing is heard. Over
// TCP it blocks on the wake marker; a pending retry leaves a 'delayed' member there, and the
// consumer must keep listening while it waits for that retry, so new work still starts within
// the block time, and the retry still runs when it is due.
import { afterEach, describe, expect, inject, it } from "vitest";
import { Consumer, type JobHandler } from "../../../consumer/runtime/consumer.ts";
import { retryable } from "../../../consumer/domain/errors.ts";
import { IdleWait } from "../../../consumer/runtime/idle-wait.ts";
import { WakeListener } from "../../../consumer/redis/tcp-client.ts";
import type { QueueSettings } from "../../../src/queue/config.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { imapJob, sleep, testQueue, type TestQueue, uidOf } from "../../support/queues.ts";
import { until } from "../../support/until.ts";

async function timed(wait: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await wait();
  return performance.now() - started;
}

describe("idle wait without a wake marker (REST)", () => {
  it("doubles from the block time up to the idle maximum while nothing comes, and is short again after work", async () => {
    const idle = new IdleWait({ blockSeconds: 0.04, idleMaxSeconds: 0.16, wake: undefined, signal: new AbortController().signal });
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) waits.push(await timed(() => idle.forWork(Infinity)));
    idle.reset();
    waits.push(await timed(() => idle.forWork(Infinity)));
    const expected = [40, 80, 160, 160, 40];
    waits.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(expected[i]! - 2);
      expect(ms).toBeLessThan(expected[i]! + 150);
    });
  });

  it("waits no longer than until the next retry is due, and a failed claim backs off the same way", async () => {
    const idle = new IdleWait({ blockSeconds: 0.2, idleMaxSeconds: 1, wake: undefined, signal: new AbortController().signal });
    expect(await timed(() => idle.forWork(30))).toBeLessThan(30 + 150);
    expect(await timed(() => idle.afterFailure())).toBeGreaterThanOrEqual(400 - 2);
  });

  it("ends at once when the consumer stops", async () => {
    const stopping = new AbortController();
    const idle = new IdleWait({ blockSeconds: 5, idleMaxSeconds: 30, wake: undefined, signal: stopping.signal });
    setTimeout(() => stopping.abort(), 20);
    expect(await timed(() => idle.forWork(Infinity))).toBeLessThan(1000);
  });
});

describe("an idle consumer over tcp with a retry pending", () => {
  let q: TestQueue;
  let consumer: Consumer | undefined;
  afterEach(async () => {
    await consumer?.stop();
    consumer = undefined;
    await q.close();
  });

  // The defaults: block 1 s, idle waits up to 30 s.
  function start(handler: JobHandler, settings: Partial<Omit<QueueSettings, "keys">>) {
    q = testQueue("tcp", { blockSeconds: 1, idleMaxSeconds: 30, ...settings });
    const wake = new WakeListener(inject("redisUrl"), q.settings.keys.wake);
    consumer = new Consumer({ queue: q.consumer(), handler, log: captureLogs().log, concurrency: 2, wake });
    consumer.start();
    return consumer;
  }

  it("starts a newly enqueued job within the block time while a retry waits far ahead", async () => {
    const started: number[] = [];
    const c = start(async (claim) => {
      started.push(uidOf(claim));
      if (uidOf(claim) === 1) throw retryable("imap_timeout", "timed out");
      return { outcome: "processed", messages: [] };
    }, { backoffBaseMs: 20_000, backoffMaxMs: 20_000 }); // the retry is due in 10 to 20 s
    await q.queue.enqueue([{ job: imapJob(1) }]);
    await until(() => c.counters.retried === 1, 5_000);
    await sleep(300); // the consumer is idle now, with the 'delayed' wake member to find
    const enqueuedAt = Date.now();
    await q.queue.enqueue([{ job: imapJob(2) }]);
    await until(() => started.includes(2), 5_000);
    expect(Date.now() - enqueuedAt).toBeLessThan(1_000 + 250);
    await until(() => c.counters.acked === 1, 2_000);
    expect(started).toEqual([1, 2]);
  });

  it("still runs the pending retry when it comes due, not at the next idle poll", async () => {
    const startedAt: number[] = [];
    let dueAt = 0;
    const c = start(async (claim) => {
      startedAt.push(Date.now());
      if (claim.delivery === 1) throw retryable("imap_timeout", "timed out");
      return { outcome: "processed", messages: [] };
    }, { backoffBaseMs: 3_000, backoffMaxMs: 3_000 }); // due in 1.5 to 3 s: beyond the block time
    await q.queue.enqueue([{ job: imapJob(1) }]);
    await until(() => c.counters.retried === 1, 5_000);
    dueAt = Number((await q.redis.zrange(q.settings.keys.delayed, "0", "0", "WITHSCORES"))[1]);
    await until(() => c.counters.acked === 1, 10_000);
    expect(startedAt).toHaveLength(2);
    expect(startedAt[1]! - dueAt).toBeGreaterThanOrEqual(-20);
    expect(startedAt[1]! - dueAt).toBeLessThan(500);
  });
});
