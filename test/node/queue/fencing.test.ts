import { afterEach, describe, expect, it } from "vitest";
import { imapJob, locate, sleep, testQueue, transports, type TestQueue } from "../../support/queues.ts";

describe.each(transports)("fencing over %s", (transport) => {
  let q: TestQueue;
  afterEach(async () => q.close());

  it("a consumer whose lease was reclaimed cannot ack, fail or renew the new claim", async () => {
    q = testQueue(transport, { claimTtlMs: 150 });
    const first = q.consumer();
    const second = q.consumer();
    const { jobs } = await first.enqueue([{ job: imapJob(7) }]);
    const jobId = jobs[0]!.jobId;

    const stale = (await first.claim()).claims[0]!;
    await sleep(200);
    const reclaimed = await second.reclaim();
    expect(reclaimed.requeued).toBe(1);
    expect(reclaimed.jobIds).toEqual([jobId]);
    const fresh = (await second.claim()).claims[0]!;
    expect(fresh.jobId).toBe(jobId);
    expect(fresh.token).not.toBe(stale.token);
    expect(fresh.delivery).toBe(2);

    expect(await first.ack([stale])).toEqual([false]);
    expect(await first.fail(stale, { error: "late" })).toEqual({ status: "stale" });
    expect((await first.renew([stale])).renewed).toEqual([false]);
    expect(await first.release([stale])).toEqual([false]);
    expect(await locate(q, jobId)).toEqual(["processing"]);

    expect(await second.ack([fresh])).toEqual([true]);
    expect(await locate(q, jobId)).toEqual([]);
  });

  it("a claim can carry acks: the finished job is acked, a stale lease is reported, the next jobs are claimed, in one call", async () => {
    q = testQueue(transport, { claimTtlMs: 150 });
    const first = q.consumer();
    const second = q.consumer();
    const { jobs } = await first.enqueue([1, 2, 3, 4].map((uid) => ({ job: imapJob(uid) })));
    const [a, b] = (await first.claim({ count: 2 })).claims;
    await sleep(200);
    await second.reclaim(); // a and b go back to the end of the line: 3, 4, a, b
    const [three] = (await second.claim()).claims;
    expect(three!.jobId).toBe(jobs[2]!.jobId);

    const next = await second.claim({ count: 2, ack: [three!, a!] });
    expect(next.acked).toEqual([true, false]);
    // Reclaim requeued a and b together, in either order.
    const [four, firstBack] = next.claims;
    expect(four!.jobId).toBe(jobs[3]!.jobId);
    const secondBack = firstBack!.jobId === a!.jobId ? b! : a!;
    expect([a!.jobId, b!.jobId]).toContain(firstBack!.jobId);
    expect(await locate(q, three!.jobId)).toEqual([]);
    expect(await locate(q, secondBack.jobId)).toEqual(["ready"]);

    const last = await second.claim({ count: 5, ack: next.claims });
    expect(last.acked).toEqual([true, true]);
    expect(last.claims.map((c) => c.jobId)).toEqual([secondBack.jobId]);
    expect((await second.claim({ ack: last.claims })).acked).toEqual([true]);
    expect(await q.queue.stats()).toMatchObject({ ready: 0, processing: 0, inflight: 0 });
  });

  it("a renewed lease is not reclaimed while the heartbeat runs", async () => {
    q = testQueue(transport, { claimTtlMs: 200 });
    await q.queue.enqueue([{ job: imapJob(1) }]);
    const claim = (await q.queue.claim()).claims[0]!;
    for (let i = 0; i < 6; i++) {
      await sleep(80);
      expect((await q.queue.renew([claim])).renewed).toEqual([true]);
      expect((await q.queue.reclaim()).requeued).toBe(0);
    }
    expect(await q.queue.ack([claim])).toEqual([true]);
  });
});
