// 8 consumers on 5,000 jobs with random failures: every job is acked or dead-lettered, exactly once.
import { afterEach, describe, expect, it } from "vitest";
import type { PointerQueue } from "../../../src/queue/queue.ts";
import { imapJob, testQueue, type TestQueue, type Transport } from "../../support/queues.ts";

const cases: [Transport, number][] = [["tcp", 5000], ["rest", 2000]];

describe.each(cases)("concurrency over %s", (transport, total) => {
  let q: TestQueue;
  afterEach(async () => q.close());

  it(`8 consumers on ${total} jobs with random failures: each job acked or dead-lettered exactly once`, async () => {
    q = testQueue(transport, { maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 4 });
    const ids = new Set<string>();
    for (let start = 0; start < total; start += 500) {
      const { jobs } = await q.queue.enqueue(Array.from({ length: 500 }, (_, i) => ({ job: imapJob(start + i + 1) })));
      jobs.forEach((j) => ids.add(j.jobId));
    }
    const acked: string[] = [];
    let dead = 0;
    let stale = 0;

    async function consume(consumer: PointerQueue) {
      let idle = 0;
      while (acked.length + dead < total && idle < 200) {
        const { claims } = await consumer.claim({ count: 4 });
        if (claims.length === 0) {
          idle++;
          await consumer.promote();
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        idle = 0;
        const done = claims.filter(() => Math.random() >= 0.2);
        const failing = claims.filter((c) => !done.includes(c));
        const results = await consumer.ack(done);
        results.forEach((ok, i) => (ok ? acked.push(done[i]!.jobId) : stale++));
        for (const claim of failing) {
          const result = await consumer.fail(claim, { error: "random_failure" });
          if (result.status === "dead") dead++;
          if (result.status === "stale") stale++;
        }
      }
    }

    await Promise.all(Array.from({ length: 8 }, () => consume(q.consumer())));

    expect(stale).toBe(0);
    expect(new Set(acked).size).toBe(acked.length); // no job acked twice
    const { records, total: dlqTotal } = await q.queue.deadLetters(0, total);
    const deadIds = records.map((r) => r.id);
    expect(dlqTotal).toBe(dead);
    expect(new Set(deadIds).size).toBe(deadIds.length);
    const ackedSet = new Set(acked);
    expect(deadIds.filter((id) => ackedSet.has(id))).toEqual([]);
    expect(new Set([...acked, ...deadIds])).toEqual(ids);
    expect(acked.length + dead).toBe(total);
    const stats = await q.queue.stats();
    expect(stats).toMatchObject({ ready: 0, processing: 0, inflight: 0, delayed: 0, dlq: dead });
  });
});
