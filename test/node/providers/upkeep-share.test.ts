// The provider upkeep spread across replicas (real PostgreSQL and Redis): each replica renews
// only its rendezvous share of the mailboxes, together every mailbox once, and a mailbox whose
// upkeep lease another replica holds is left to it.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { providerEndpoints } from "../../../consumer/config.ts";
import { createProviderApis } from "../../../consumer/provider-api/apis.ts";
import type { ProviderContext } from "../../../consumer/providers/context.ts";
import { leasedShare, renewDue } from "../../../consumer/providers/upkeep.ts";
import { createTcpRedis, TcpScriptClient } from "../../../consumer/redis/tcp-client.ts";
import { MailboxLease } from "../../../consumer/runtime/mailbox-lease.ts";
import { rendezvousOwner } from "../../../consumer/runtime/mailbox-share.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { testDatabase, type TestDatabase } from "../../support/database.ts";
import { testQueue, type TestQueue } from "../../support/queues.ts";

let database: TestDatabase;
let q: TestQueue;
let ctx: ProviderContext;
const redis = createTcpRedis(inject("redisUrl"));
const scripts = new TcpScriptClient(redis);

beforeAll(async () => {
  database = await testDatabase("postgres");
  q = testQueue("tcp");
  ctx = { mailboxes: new Mailboxes(database.db), queue: q.queue, apis: createProviderApis(providerEndpoints({})), ingressUrl: undefined };
});

afterAll(async () => {
  redis.disconnect();
  await q?.close();
  await database?.drop();
});

describe("provider upkeep across replicas", () => {
  it("three replicas each renew only their share of 24 mailboxes, together every mailbox once; one whose upkeep lease another holds is skipped", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      ids.push(await ctx.mailboxes.add({ tenantId: "t1", kind: "imap", address: `upkeep${i}@example.com`, credentials: { type: "imap", host: "127.0.0.1", port: 1, secure: false, user: `upkeep${i}`, password: "pw" } }));
    }
    const names = ["replica-a", "replica-b", "replica-c"];
    const prefix = `${q.settings.keys.registry}:upkeep:`;
    const renewed = await Promise.all(names.map(async (name) => (await renewDue(ctx, Date.now(), leasedShare(scripts, prefix, name, (id) => rendezvousOwner(id, names) === name))).map((r) => r.providerId).sort()));
    renewed.forEach((list, i) => {
      expect(list).toEqual(ids.filter((id) => rendezvousOwner(id, names) === names[i]).sort());
      expect(list.length).toBeLessThan(ids.length);
    });
    expect(renewed.flat().sort()).toEqual([...ids].sort());
    // Every lease was given back after its renewal.
    expect(await redis.keys(`${prefix}*`)).toEqual([]);

    const busy = ids.find((id) => rendezvousOwner(id, names) === "replica-a")!;
    const other = new MailboxLease(scripts, `${prefix}${busy}`, "replica-b", 60_000);
    expect(await other.acquire()).toBe(true);
    const again = (await renewDue(ctx, Date.now(), leasedShare(scripts, prefix, "replica-a", (id) => rendezvousOwner(id, names) === "replica-a"))).map((r) => r.providerId);
    expect(again).not.toContain(busy);
    expect(again.length).toBe(renewed[0]!.length - 1);
    await other.release();
  });
});
