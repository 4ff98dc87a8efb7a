// Tenants are served in turn: each tenant's jobs wait in its own lane (FIFO), claim takes tenants
// from a rotation (up to their weight each turn, within their max-inflight), and jobs from
// before tenant lanes (in the single ready list) are claimed, not lost.
import { afterEach, describe, expect, it } from "vitest";
import type { Claim } from "../../../src/queue/queue.ts";
import { imapJob, readyRaws, sleep, testQueue, transports, type TestQueue } from "../../support/queues.ts";

const tenantOf = (c: Claim) => c.job.tenantId;
const uid = (c: Claim) => (c.job.provider === "imap" ? c.job.pointer.uid : 0);

describe.each(transports)("fair claiming over %s", (transport) => {
  let q: TestQueue;
  afterEach(async () => q.close());

  const enqueue = (tenant: string, from: number, n: number) =>
    q.queue.enqueue(Array.from({ length: n }, (_, i) => ({ job: imapJob(from + i, { tenantId: tenant }) })));

  it("tenants with jobs waiting are served in turn, and one tenant alone takes the rest of the batch", async () => {
    q = testQueue(transport);
    await enqueue("A", 1, 50);
    await enqueue("B", 1, 1);
    await enqueue("C", 1, 2);
    const { claims } = await q.queue.claim({ count: 6 });
    expect(claims.map((c) => `${tenantOf(c)}${uid(c)}`)).toEqual(["A1", "B1", "C1", "A2", "C2", "A3"]);
    const next = await q.queue.claim({ count: 5 });
    expect(next.claims.map((c) => `${tenantOf(c)}${uid(c)}`)).toEqual(["A4", "A5", "A6", "A7", "A8"]);
  });

  it("a tenant with one mail waiting is claimed after one turn of the tenant with a backlog, not after the backlog", async () => {
    q = testQueue(transport);
    await enqueue("A", 1, 2000);
    expect((await q.queue.claim({ count: 10 })).claims.every((c) => tenantOf(c) === "A")).toBe(true);
    await enqueue("B", 1, 1);
    const { claims } = await q.queue.claim({ count: 2 });
    expect(claims.map((c) => `${tenantOf(c)}${uid(c)}`)).toEqual(["A11", "B1"]);
    // And with A's 2,000 still only arriving (not yet in lanes) when B's mail comes.
    const r = testQueue(transport);
    try {
      await r.queue.enqueue(Array.from({ length: 2000 }, (_, i) => ({ job: imapJob(i + 1, { tenantId: "A" }) })));
      await r.queue.enqueue([{ job: imapJob(1, { tenantId: "B" }) }]);
      const first = await r.queue.claim({ count: 2 });
      expect(first.claims.map((c) => `${tenantOf(c)}${uid(c)}`)).toEqual(["A1", "B1"]);
    } finally {
      await r.close();
    }
  });

  it("keeps each tenant's jobs in enqueue order through interleaved arrivals, batches of every size and releases", async () => {
    q = testQueue(transport);
    const expected: Record<string, number[]> = { A: [], B: [], C: [], D: [] };
    let n = 0;
    for (let round = 0; round < 40; round++) {
      const items = Array.from({ length: 1 + (round % 7) }, () => {
        const tenant = "ABCD"[(n * 7 + round) % 4]!;
        n++;
        expected[tenant]!.push(n);
        return { job: imapJob(n, { tenantId: tenant }) };
      });
      await q.queue.enqueue(items);
    }
    const seen: Record<string, number[]> = { A: [], B: [], C: [], D: [] };
    let size = 1;
    let released = false;
    while (Object.values(seen).flat().length < n) {
      const { claims } = await q.queue.claim({ count: size });
      expect(claims.length).toBeGreaterThan(0);
      if (!released && claims.length > 2) {
        // Given back: they come again first within their tenants, in the same order.
        released = true;
        expect(await q.queue.release(claims)).toEqual(claims.map(() => true));
        continue;
      }
      for (const c of claims) seen[tenantOf(c)]!.push(uid(c));
      await q.queue.ack(claims);
      size = (size % 9) + 1;
    }
    expect(released).toBe(true);
    expect(seen).toEqual(expected);
  });

  it("a retry that comes due joins the end of its own tenant's lane, not the end of another's backlog", async () => {
    q = testQueue(transport, { backoffBaseMs: 3000, backoffMaxMs: 3000 }); // due in 1.5–3 s
    await enqueue("B", 1, 1);
    const [b1] = (await q.queue.claim({ count: 1 })).claims;
    const failed = await q.queue.fail(b1!, { error: "imap_timeout" });
    await enqueue("A", 1, 500);
    expect((await q.queue.claim({ count: 5 })).claims.map(tenantOf)).toEqual(["A", "A", "A", "A", "A"]);
    if (failed.status !== "retry") throw new Error(`expected a retry, got ${failed.status}`);
    await sleep(Math.max(0, failed.dueAt - Date.now()) + 50);
    const { claims } = await q.queue.claim({ count: 2 });
    expect(claims.map((c) => `${tenantOf(c)}${uid(c)}`)).toEqual(["A6", "B1"]);
    expect(claims[1]!.delivery).toBe(2);
  });

  it("a tenant's weight is its jobs per turn, whatever the batch size", async () => {
    q = testQueue(transport);
    await q.queue.setTenant("A", { weight: 3 });
    await enqueue("A", 1, 40);
    await enqueue("B", 1, 40);
    const one: string[] = [];
    for (let i = 0; i < 8; i++) one.push(...(await q.queue.claim({ count: 1 })).claims.map(tenantOf));
    expect(one.join("")).toBe("AAABAAAB");
    const batch = (await q.queue.claim({ count: 8 })).claims.map(tenantOf);
    expect(batch.join("")).toBe("AAABAAAB");
    const odd = [...(await q.queue.claim({ count: 2 })).claims, ...(await q.queue.claim({ count: 3 })).claims].map(tenantOf);
    expect(odd.join("")).toBe("AAABA");
  });

  it("a capped tenant's jobs wait without holding up the others, and go on as its jobs finish", async () => {
    q = testQueue(transport);
    await q.queue.setTenant("A", { maxInflight: 2 });
    await enqueue("A", 1, 10);
    await enqueue("B", 1, 10);
    const first = await q.queue.claim({ count: 8 });
    expect(first.claims.filter((c) => tenantOf(c) === "A").map(uid)).toEqual([1, 2]);
    expect(first.claims.filter((c) => tenantOf(c) === "B").map(uid)).toEqual([1, 2, 3, 4, 5, 6]);
    const stats = await q.queue.tenantStats();
    expect(stats.tenants.find((t) => t.tenantId === "A")).toMatchObject({ ready: 8, inflight: 2, capped: true, settings: { maxInflight: 2 } });
    expect(stats.tenants.find((t) => t.tenantId === "B")).toMatchObject({ ready: 4, inflight: 6, capped: false });

    // Nothing of A's while two are in flight, whoever claims.
    const other = q.consumer();
    expect((await other.claim({ count: 10 })).claims.map(tenantOf)).toEqual(["B", "B", "B", "B"]);
    expect((await q.queue.claim({ count: 10 })).claims).toEqual([]);

    // One of A's finishes (ack, fail or release alike): one more of A's can go.
    const [a1, a2] = first.claims.filter((c) => tenantOf(c) === "A");
    await q.queue.ack([a1!]);
    expect((await other.claim({ count: 10 })).claims.map(uid)).toEqual([3]);
    await q.queue.fail(a2!, { error: "imap_timeout" });
    expect((await other.claim({ count: 10 })).claims.map(uid)).toEqual([4]);

    // Clearing the cap lets the rest go at once.
    expect(await q.queue.clearTenant("A")).toBe(true);
    expect((await other.claim({ count: 10 })).claims.map(uid)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(await q.queue.tenants()).toEqual([]);
  });

  it("max-inflight holds across consumers claiming and acking at once", async () => {
    q = testQueue(transport);
    await q.queue.setTenant("A", { maxInflight: 3 });
    await enqueue("A", 1, 60);
    await enqueue("B", 1, 60);
    const consumers = Array.from({ length: 6 }, () => q.consumer());
    const seen: string[] = [];
    let peakA = 0;
    await Promise.all(
      consumers.map(async (consumer) => {
        for (;;) {
          const { claims } = await consumer.claim({ count: 4 });
          if (claims.length === 0) {
            if (seen.length === 120) return;
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          seen.push(...claims.map((c) => c.jobId));
          // The inflight records themselves, read in one command: a snapshot of what is claimed.
          const records = Object.values(await q.redis.hgetall(q.settings.keys.inflight));
          peakA = Math.max(peakA, records.filter((r) => r.includes('"tenantId":"A"')).length);
          await consumer.ack(claims);
        }
      }),
    );
    expect(new Set(seen).size).toBe(120);
    expect(peakA).toBeGreaterThan(0);
    expect(peakA).toBeLessThanOrEqual(3);
    expect(await q.queue.stats()).toMatchObject({ ready: 0, inflight: 0 });
  });

  it("a cap set while a tenant's jobs are in flight counts them (jobs in flight are counted only for capped tenants)", async () => {
    q = testQueue(transport);
    await enqueue("A", 1, 10);
    const first = await q.queue.claim({ count: 5 });
    expect(await q.redis.hgetall(q.settings.keys.tenantInflight)).toEqual({});
    await q.queue.setTenant("A", { maxInflight: 6 });
    expect((await q.queue.claim({ count: 10 })).claims.map(uid)).toEqual([6]);
    await q.queue.ack(first.claims.slice(0, 2));
    expect((await q.queue.claim({ count: 10 })).claims.map(uid)).toEqual([7, 8]);
    await q.queue.setTenant("A", { weight: 2 });
    expect(await q.redis.hgetall(q.settings.keys.tenantInflight)).toEqual({});
    expect((await q.queue.claim({ count: 10 })).claims.map(uid)).toEqual([9, 10]);
  });

  it("a capped tenant whose job finishes wakes an idle consumer", async () => {
    q = testQueue(transport);
    await q.queue.setTenant("A", { maxInflight: 1 });
    await enqueue("A", 1, 2);
    const [a1] = (await q.queue.claim({ count: 5 })).claims;
    await q.redis.del(q.settings.keys.wake);
    await q.queue.ack([a1!]);
    expect(await q.redis.zscore(q.settings.keys.wake, "ready")).toBe("0");
    expect((await q.queue.claim({ count: 5 })).claims.map(uid)).toEqual([2]);
  });

  it("jobs left in the single ready list by the queue before tenant lanes are all claimed, each tenant's in order", async () => {
    q = testQueue(transport);
    const { keys } = q.settings;
    // What the old enqueue wrote (LPUSH onto the one ready list), and a job an old consumer
    // had claimed (an inflight record with no tenant count behind it).
    const old = Array.from({ length: 30 }, (_, i) => ({
      jobId: `old-${i}`,
      schemaVersion: 1,
      provider: "imap",
      tenantId: i % 3 === 0 ? "A" : "B",
      providerId: "p",
      enqueuedAt: Date.now() - 60_000 + i,
      attempt: 0,
      pointer: { mailbox: "INBOX", uidValidity: "1", uid: i + 1 },
    }));
    for (const job of old) await q.redis.lpush(keys.ready, JSON.stringify(job));
    const inFlight = { ...old[0]!, jobId: "old-in-flight", pointer: { mailbox: "INBOX", uidValidity: "1", uid: 99 } };
    await q.redis.lpush(keys.processing, JSON.stringify(inFlight));
    await q.redis.hset(keys.inflight, "old-in-flight", `oldtoken|1|${Date.now()}|${JSON.stringify(inFlight)}`);
    await q.redis.zadd(keys.lease, Date.now() + 60_000, "old-in-flight");
    expect((await q.queue.stats()).ready).toBe(30);

    const claimed: Claim[] = [];
    for (;;) {
      const { claims } = await q.queue.claim({ count: 4 });
      if (claims.length === 0) break;
      claimed.push(...claims);
      await q.queue.ack(claims);
    }
    expect(claimed.map((c) => c.jobId).sort()).toEqual(old.map((j) => j.jobId).sort());
    for (const tenant of ["A", "B"]) {
      expect(claimed.filter((c) => tenantOf(c) === tenant).map((c) => c.jobId)).toEqual(old.filter((j) => j.tenantId === tenant).map((j) => j.jobId));
    }
    // The old claim's ack does not leave a negative count behind.
    expect(await q.queue.ack([{ jobId: "old-in-flight", token: "oldtoken" }])).toEqual([true]);
    expect(await q.redis.hgetall(keys.tenantInflight)).toEqual({});
    expect(await q.queue.stats()).toMatchObject({ ready: 0, processing: 0, inflight: 0 });
  });

  it("reclaim counts each tenant's jobs in flight again from the inflight records", async () => {
    q = testQueue(transport);
    await q.queue.setTenant("A", { maxInflight: 3 });
    await enqueue("A", 1, 5);
    await q.queue.claim({ count: 2 });
    const { keys } = q.settings;
    await q.redis.hset(keys.tenantInflight, "A", "40", "ghost", "7");
    await q.redis.sadd(keys.capped, "A");
    await q.redis.lrem(keys.rotation, 0, "A");
    await q.queue.reclaim();
    expect(await q.redis.hgetall(keys.tenantInflight)).toEqual({ A: "2" });
    expect((await q.queue.claim({ count: 5 })).claims.map(uid)).toEqual([3]);
  });

  it("queue stats and tenant stats count arrivals and lanes alike, with each tenant's oldest job", async () => {
    q = testQueue(transport);
    await enqueue("A", 1, 3);
    await q.queue.claim({ count: 1 }); // sorted into lanes
    await enqueue("B", 1, 2); // still arriving
    expect((await q.queue.stats()).ready).toBe(4);
    const { tenants, unsorted } = await q.queue.tenantStats();
    expect(unsorted).toBe(0);
    expect(tenants.map((t) => [t.tenantId, t.ready, t.inflight])).toEqual([
      ["A", 2, 1],
      ["B", 2, 0],
    ]);
    expect(tenants.every((t) => t.oldestReadyAgeMs !== undefined && t.oldestReadyAgeMs >= 0)).toBe(true);
    expect(await readyRaws(q)).toHaveLength(4);
  });

  it("refuses bad tenant settings before writing anything", async () => {
    q = testQueue(transport);
    await expect(q.queue.setTenant("A", { weight: 0 })).rejects.toThrow(/weight/);
    await expect(q.queue.setTenant("A", { maxInflight: 1.5 })).rejects.toThrow(/maxInflight/);
    await expect(q.queue.setTenant("", { weight: 2 })).rejects.toThrow(/tenant id/);
    expect(await q.queue.tenants()).toEqual([]);
  });
});
