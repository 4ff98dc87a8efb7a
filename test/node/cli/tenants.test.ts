// `inlet tenants set|list|clear` and the per-tenant part of `inlet queue stats`, against a real
// Redis over TCP and REST, with bad arguments.
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

describe.each(transports)("inlet tenants over %s", (transport) => {
  let q: TestQueue;
  afterEach(async () => q.close());

  it("set, list and clear a tenant's weight and cap; the claim obeys them", async () => {
    q = testQueue(transport);
    const env = envFor(q, transport);
    expect((await inlet(["tenants", "list"], env)).stdout).toContain("no tenant settings");
    const set = await inlet(["tenants", "set", "acme", "--weight", "2", "--max-inflight", "20"], env);
    expect(set.code).toBe(0);
    expect(await q.queue.tenants()).toEqual([{ tenantId: "acme", settings: { weight: 2, maxInflight: 20 } }]);
    await inlet(["tenants", "set", "globex", "--max-inflight", "1"], env);
    const list = await inlet(["tenants", "list"], env);
    expect(list.stdout).toMatch(/acme\s+2\s+20/);
    expect(list.stdout).toMatch(/globex\s+1\s+1/);
    expect(JSON.parse((await inlet(["tenants", "list", "--json"], env)).stdout)).toEqual([
      { tenantId: "acme", settings: { weight: 2, maxInflight: 20 } },
      { tenantId: "globex", settings: { maxInflight: 1 } },
    ]);

    await q.queue.enqueue([1, 2, 3].map((uid) => ({ job: imapJob(uid, { tenantId: "globex" }) })));
    expect((await q.queue.claim({ count: 3 })).claims).toHaveLength(1);
    expect((await inlet(["tenants", "clear", "globex"], env)).stdout).toBe("cleared globex\n");
    expect((await q.queue.claim({ count: 3 })).claims).toHaveLength(2);
    expect((await inlet(["tenants", "clear", "globex"], env)).stdout).toBe("globex had no settings\n");
  });

  it("queue stats lists each tenant's backlog, oldest ready age and jobs in flight, in text and JSON", async () => {
    q = testQueue(transport);
    const env = envFor(q, transport);
    await q.queue.setTenant("big", { maxInflight: 2 });
    await q.queue.enqueue(Array.from({ length: 12 }, (_, i) => ({ job: imapJob(i + 1, { tenantId: "big" }) })));
    await q.queue.enqueue([{ job: imapJob(1, { tenantId: "small" }) }]);
    await q.queue.claim({ count: 2 });
    const json = JSON.parse((await inlet(["queue", "stats", "--json"], env)).stdout) as { ready: number; tenants: unknown[] };
    expect(json.ready).toBe(11);
    expect(json.tenants).toEqual([
      { tenantId: "big", ready: 11, oldestReadyAgeMs: expect.any(Number), inflight: 1, capped: false, settings: { maxInflight: 2 } },
      { tenantId: "small", ready: 0, inflight: 1, capped: false, settings: {} },
    ]);
    const table = await inlet(["queue", "stats"], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/tenant\s+ready\s+oldest ready\s+in flight\s+weight\s+max in flight\s+capped/);
    expect(table.stdout).toMatch(/big\s+11\s+\d+ m?s\s+1\s+1\s+2/);
    const one = await inlet(["queue", "stats", "--tenants", "1"], env);
    expect(one.stdout).toContain("… and 1 more tenants");
  });

  it("bad arguments fail with exit code 2 and a clear message", async () => {
    q = testQueue(transport);
    const env = envFor(q, transport);
    expect(await inlet(["tenants", "set", "acme"], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("give --weight, --max-inflight or both") });
    expect(await inlet(["tenants", "set", "acme", "--weight", "0"], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("whole number from 1 to 1000") });
    expect(await inlet(["tenants", "set", "acme", "--max-inflight", "1.5"], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("whole number") });
    expect(await inlet(["tenants", "clear"], env)).toMatchObject({ code: 2 });
    expect(await q.queue.tenants()).toEqual([]);
  });
});
