// The reconciliation sweep against the Graph and Gmail fakes (delta and history on the wire),
// real Redis and PostgreSQL: what no notification announced becomes a pointer once; nothing
// changed costs one provider call; an expired delta link restarts from the last sweep; two
// replicas sweep each mailbox once.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeGraph, type FakeGraph } from "../../../dev/fakes/graph.ts";
import { startFakeGmail, type FakeGmail } from "../../../dev/fakes/gmail.ts";
import { providerEndpoints } from "../../../consumer/config.ts";
import { createProviderApis } from "../../../consumer/provider-api/apis.ts";
import type { ProviderContext } from "../../../consumer/providers/context.ts";
import { sweepMicrosoft } from "../../../consumer/reconcile/microsoft.ts";
import { sweepGmail } from "../../../consumer/reconcile/google.ts";
import { Reconciler } from "../../../consumer/reconcile/reconciler.ts";
import { rendezvousOwner } from "../../../consumer/runtime/mailbox-share.ts";
import { TcpScriptClient, createTcpRedis } from "../../../consumer/redis/tcp-client.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import type { Db } from "../../../consumer/store/db.ts";
import { testDatabase, type TestDatabase } from "../../support/database.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { buildMail } from "../../support/mail.ts";
import { readyRaws, testQueue, type TestQueue } from "../../support/queues.ts";
import { inject } from "vitest";

const APP = { azureTenantId: "contoso", clientId: "app", clientSecret: "secret" };
const GMAIL_CLIENT = { clientId: "gc", clientSecret: "gs", refreshToken: "rt" };
let graph: FakeGraph;
let gmail: FakeGmail;
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  [graph, gmail, database] = await Promise.all([startFakeGraph(), startFakeGmail(), testDatabase("postgres")]);
  graph.addApp(APP);
  gmail.addClient(GMAIL_CLIENT);
  db = database.db;
});
afterAll(async () => {
  await Promise.all([graph?.close(), gmail?.close()]);
  await database?.drop();
});

let q: TestQueue;
let mailboxes: Mailboxes;
let ctx: ProviderContext;
const logs = captureLogs();
let n = 0;

beforeEach(async () => {
  q?.close();
  q = testQueue("tcp");
  mailboxes = new Mailboxes(db);
  ctx = {
    mailboxes,
    queue: q.queue,
    apis: createProviderApis(providerEndpoints({ MICROSOFT_GRAPH_BASE_URL: graph.graphBaseUrl, MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl, GMAIL_API_BASE_URL: gmail.gmailBaseUrl, GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl })),
    ingressUrl: undefined,
    log: logs.log,
  };
});

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
const readyPointers = async () => (await readyRaws(q)).map((r) => JSON.parse(r) as { origin?: string; pointer: Record<string, string> });

async function microsoftMailbox(since = minutesAgo(30)) {
  const address = `helpdesk-${n++}@contoso.example`;
  const id = await mailboxes.add({ tenantId: "t1", kind: "microsoft", address, credentials: { type: "microsoft", ...APP }, cursors: { graphSubscriptionId: "sub-1", graphDeltaSince: since.toISOString() } });
  return { id, address, get: async () => (await mailboxes.get(id))! };
}

describe("Microsoft sweep (Graph delta)", () => {
  it("the first round starts when the mailbox was connected; what arrived since becomes pointers once, marked as the sweep's", async () => {
    const m = await microsoftMailbox();
    graph.addMessage(m.address, buildMail({ id: "before@x" }), undefined, minutesAgo(60)); // before the connection
    const missed = [1, 2, 3].map((i) => graph.addMessage(m.address, buildMail({ id: `missed-${i}@x` }), undefined, minutesAgo(10)));
    const report = await sweepMicrosoft(ctx, await m.get());
    expect(report).toMatchObject({ listed: 3, enqueued: 3, found: 3 });
    const ready = await readyPointers();
    expect(ready.map((j) => j.pointer.messageId).sort()).toEqual([...missed].sort());
    expect(ready.every((j) => j.origin === "sweep")).toBe(true);
    expect((await m.get()).cursors.graphDeltaLink).toContain("$deltatoken=");
  });

  it("nothing new costs one delta call and enqueues nothing", async () => {
    const m = await microsoftMailbox();
    graph.addMessage(m.address, buildMail({ id: "x1@x" }));
    await sweepMicrosoft(ctx, await m.get());
    const before = graph.deltaRequests();
    const again = await sweepMicrosoft(ctx, await m.get());
    expect(again).toMatchObject({ listed: 0, enqueued: 0, found: 0 });
    expect(graph.deltaRequests() - before).toBe(1);
  });

  it("250 messages over pages of 40: every one once, and the stored link moves page by page", async () => {
    graph.maxDeltaPageSize = 40;
    try {
      const m = await microsoftMailbox();
      const ids = Array.from({ length: 250 }, (_, i) => graph.addMessage(m.address, buildMail({ id: `page-${i}@x` }), undefined, minutesAgo(5)));
      const report = await sweepMicrosoft(ctx, await m.get());
      expect(report).toMatchObject({ listed: 250, enqueued: 250 });
      expect((await readyPointers()).map((j) => j.pointer.messageId).sort()).toEqual([...ids].sort());
    } finally {
      graph.maxDeltaPageSize = 1000;
    }
  });

  it("mail a notification already put in the queue, or that was processed, is not enqueued again nor counted; mail younger than the grace period is enqueued, not counted", async () => {
    const m = await microsoftMailbox();
    const notified = graph.addMessage(m.address, buildMail({ id: "notified@x" }), undefined, minutesAgo(5));
    const processed = graph.addMessage(m.address, buildMail({ id: "processed@x" }), undefined, minutesAgo(5));
    const young = graph.addMessage(m.address, buildMail({ id: "young@x" }));
    const missed = graph.addMessage(m.address, buildMail({ id: "missed@x" }), undefined, minutesAgo(5));
    await q.queue.enqueue([{ dedupeKey: `microsoft:sub-1:${notified}`, job: { provider: "microsoft", tenantId: "t1", providerId: m.id, pointer: { subscriptionId: "sub-1", messageId: notified, resource: "r", changeType: "created" } } }]);
    await db.query("INSERT INTO email_processed_messages (tenant_id, identity, provider, provider_id, provider_message_id, status) VALUES ('t1', 'processed@x', 'microsoft', $1, $2, 'ticket')", [m.id, processed]);
    const report = await sweepMicrosoft(ctx, await m.get());
    expect(report).toMatchObject({ listed: 4, enqueued: 2, found: 1 });
    expect((await readyPointers()).map((j) => j.pointer.messageId).sort()).toEqual([notified, young, missed].sort());
  });

  it("an expired delta link (410) starts a fresh round from the last sweep, says so, and misses nothing", async () => {
    const m = await microsoftMailbox();
    await sweepMicrosoft(ctx, await m.get());
    await mailboxes.updateCursors(m.id, { lastSweep: { at: minutesAgo(20).toISOString(), listed: 0, enqueued: 0, found: 0 } });
    const after = graph.addMessage(m.address, buildMail({ id: "after-expiry@x" }), undefined, minutesAgo(10));
    graph.expireDeltaTokens();
    const report = await sweepMicrosoft(ctx, await m.get());
    expect(report).toMatchObject({ restarted: true, enqueued: 1 });
    expect((await readyPointers()).map((j) => j.pointer.messageId)).toContain(after);
    expect(logs.events("inbound_email_reconcile_delta_restarted").at(-1)).toMatchObject({ providerId: m.id });
  });
});

describe("Gmail sweep (history)", () => {
  const user = () => `support-${n++}@fabrikam.example`;
  async function gmailMailbox(address: string) {
    const id = await mailboxes.add({ tenantId: "t1", kind: "google", address, credentials: { type: "google", ...GMAIL_CLIENT }, cursors: { gmailHistoryId: gmail.historyId(address) } });
    return { id, get: async () => (await mailboxes.get(id))! };
  }

  it("new INBOX mail since the cursor: one sweep job for the resolver, naming the history it reaches; nothing new: one call, no job", async () => {
    const address = user();
    const m = await gmailMailbox(address);
    const quiet = await sweepGmail(ctx, await m.get());
    expect(quiet).toMatchObject({ listed: 0, enqueued: 0 });
    expect(await readyPointers()).toEqual([]);
    gmail.addMessage(address, buildMail({ id: "g1@x" }));
    const last = gmail.addMessage(address, buildMail({ id: "g2@x" }));
    const report = await sweepGmail(ctx, await m.get());
    expect(report).toMatchObject({ listed: 2, enqueued: 1, found: 2 });
    expect(await readyPointers()).toMatchObject([{ origin: "sweep", pointer: { emailAddress: address, historyId: last.historyId } }]);
    // The same history seen again: the job is not enqueued twice.
    expect(await sweepGmail(ctx, await m.get())).toMatchObject({ enqueued: 0 });
  });

  it("history Gmail no longer keeps: a sweep job that makes the resolver resynchronise", async () => {
    const address = user();
    const m = await gmailMailbox(address);
    gmail.addMessage(address, buildMail({ id: "gone-history@x" }));
    gmail.expireHistory(address);
    await mailboxes.updateCursors(m.id, { gmailHistoryId: "1" });
    const report = await sweepGmail(ctx, await m.get());
    expect(report.enqueued).toBe(1);
    const [job] = await readyPointers();
    expect(BigInt(job!.pointer.historyId!)).toBe(2n);
  });
});

describe("the sweep schedule", () => {
  it("two replicas ticking at once over 12 mailboxes sweep each exactly once, and record it on the mailbox", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await microsoftMailbox()).id);
    const connections = [0, 1].map(() => createTcpRedis(inject("redisUrl")));
    const replicas = connections.map((redis) => new Reconciler({ ctx, scripts: new TcpScriptClient(redis), leasePrefix: `${q.settings.keys.registry}:sweep:`, intervalMs: 60_000, log: logs.log }));
    const later = Date.now() + 120_000; // every mailbox is due
    const reports = (await Promise.all(replicas.map((r) => r.tick(later)))).flat().filter((r) => ids.includes(r.providerId));
    expect(reports.map((r) => r.providerId).sort()).toEqual([...ids].sort());
    for (const id of ids) expect((await mailboxes.get(id))!.cursors.lastSweep).toMatchObject({ listed: 0, found: 0 });
    // Just swept: not due again until about an interval later.
    expect((await Promise.all(replicas.map((r) => r.tick(Date.now())))).flat().filter((r) => ids.includes(r.providerId))).toEqual([]);
    connections.forEach((c) => c.disconnect());
  });

  it("three replicas sharing by rendezvous over the live replicas each sweep only their share of 30 mailboxes; together every mailbox once", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await microsoftMailbox()).id);
    const names = ["replica-a", "replica-b", "replica-c"];
    const connections = names.map(() => createTcpRedis(inject("redisUrl")));
    const replicas = connections.map((redis, i) => new Reconciler({ ctx, scripts: new TcpScriptClient(redis), leasePrefix: `${q.settings.keys.registry}:sweep:`, intervalMs: 60_000, log: logs.log, owns: (id) => rendezvousOwner(id, names) === names[i] }));
    const later = Date.now() + 120_000;
    const reports = (await Promise.all(replicas.map((r) => r.tick(later)))).map((list) => list.map((r) => r.providerId).filter((id) => ids.includes(id)).sort());
    reports.forEach((swept, i) => {
      expect(swept).toEqual(ids.filter((id) => rendezvousOwner(id, names) === names[i]).sort());
      expect(swept.length).toBeLessThan(30);
    });
    expect(reports.flat().sort()).toEqual([...ids].sort());
    connections.forEach((c) => c.disconnect());
  });
});
