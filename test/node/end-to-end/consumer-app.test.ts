// The consumer as it runs in production (startConsumerApp), end to end against real Redis,
// PostgreSQL and Dovecot and the local Graph and Gmail fakes: a pointer of each provider goes in,
// the message is fetched, processed into a ticket, and the job is acked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { ImapFlow } from "imapflow";
import { startConsumerApp, type ConsumerApp } from "../../../consumer/app.ts";
import { consumerConfig } from "../../../consumer/config.ts";
import { startFakeGraph, type FakeGraph } from "../../../dev/fakes/graph.ts";
import { startFakeGmail, type FakeGmail } from "../../../dev/fakes/gmail.ts";
import { startDovecot, type Dovecot } from "../../../dev/dovecot.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { createPostgresDatabase } from "../../support/database.ts";
import { buildMail } from "../../support/mail.ts";
import { openPostgres } from "../../../consumer/store/postgres.ts";
import { migrate } from "../../../consumer/store/migrations.ts";
import { testQueue, type TestQueue } from "../../support/queues.ts";
import { until } from "../../support/until.ts";
import { freePort } from "../../../dev/free-port.ts";

let graph: FakeGraph;
let gmail: FakeGmail;
let dovecot: Dovecot;
let q: TestQueue;
let database: { url: string; drop(): Promise<void> };
let app: ConsumerApp;
const logs = captureLogs();

beforeAll(async () => {
  [graph, gmail, dovecot, database] = await Promise.all([startFakeGraph(), startFakeGmail(), startDovecot([{ user: "imap-e2e@acme.example", password: "pw" }]), createPostgresDatabase()]);
  graph.addApp({ azureTenantId: "acme-entra", clientId: "app", clientSecret: "secret" });
  gmail.addClient({ clientId: "gc", clientSecret: "gs", refreshToken: "rt" });
  q = testQueue("tcp");
  app = await startConsumerApp(
    consumerConfig({
      REDIS_URL: inject("redisUrl"),
      UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: q.settings.keys.ready.replace(/ready$/, ""),
      DATABASE_URL: database.url,
      MICROSOFT_GRAPH_BASE_URL: graph.graphBaseUrl,
      MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl,
      GMAIL_API_BASE_URL: gmail.gmailBaseUrl,
      GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl,
      INLET_IMAP_LISTENER: "0",
      INLET_CONCURRENCY: "4",
      INLET_HTTP_HOST: "127.0.0.1",
      INLET_HTTP_PORT: String(await freePort()),
    }),
    logs.log,
  );
});

afterAll(async () => {
  await app?.stop();
  await Promise.all([graph?.close(), gmail?.close(), dovecot?.stop(), q?.close()]);
  await database?.drop();
});

const lastLogs = () => `the condition (logs: ${JSON.stringify(logs.lines().slice(-5))})`;

describe("consumer end to end", () => {
  it("a pointer from each provider becomes a ticket, and each job is acked", async () => {
    const db = openPostgres(database.url);
    await migrate(db);
    const mailboxes = new Mailboxes(db);
    const ms = await mailboxes.add({ tenantId: "acme", kind: "microsoft", address: "helpdesk@acme.example", credentials: { type: "microsoft", azureTenantId: "acme-entra", clientId: "app", clientSecret: "secret" } });
    const gm = await mailboxes.add({ tenantId: "acme", kind: "google", address: "support@acme-gmail.example", credentials: { type: "google", clientId: "gc", clientSecret: "gs", refreshToken: "rt" }, cursors: { gmailHistoryId: gmail.historyId("support@acme-gmail.example") } });
    const im = await mailboxes.add({ tenantId: "acme", kind: "imap", address: "imap-e2e@acme.example", credentials: { type: "imap", host: dovecot.host, port: dovecot.port, secure: false, user: "imap-e2e@acme.example", password: "pw" } });

    const graphId = graph.addMessage("helpdesk@acme.example", buildMail({ id: "e2e-graph@example.org", subject: "From Graph" }));
    const gmailAdded = gmail.addMessage("support@acme-gmail.example", buildMail({ id: "e2e-gmail@example.org", subject: "From Gmail" }));
    await dovecot.deliver("imap-e2e@acme.example", buildMail({ id: "e2e-imap@example.org", subject: "From IMAP" }));
    const client = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: "imap-e2e@acme.example", pass: "pw" }, logger: false });
    await client.connect();
    const box = await client.mailboxOpen("INBOX");
    await client.logout();

    await q.queue.enqueue([
      { job: { provider: "microsoft", tenantId: "acme", providerId: ms, pointer: { subscriptionId: "sub", messageId: graphId, resource: `Users/helpdesk@acme.example/Messages/${graphId}`, changeType: "created" } } },
      { job: { provider: "google", tenantId: "acme", providerId: gm, pointer: { emailAddress: "support@acme-gmail.example", historyId: gmailAdded.historyId, pubsubMessageId: "ps-1" } } },
      { job: { provider: "imap", tenantId: "acme", providerId: im, pointer: { mailbox: "INBOX", uidValidity: String(box.uidValidity), uid: box.uidNext - 1 } } },
    ]);
    await until(async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM tickets"))[0]!.n === 3, 20_000, lastLogs);
    await until(async () => logs.events("inbound_email_queue_ack").length === 3, 20_000, lastLogs);
    const subjects = (await db.query<{ subject: string }>("SELECT subject FROM tickets ORDER BY subject")).map((r) => r.subject);
    expect(subjects).toEqual(["From Gmail", "From Graph", "From IMAP"]);
    expect(await q.queue.stats()).toMatchObject({ ready: 0, processing: 0, inflight: 0, delayed: 0, dlq: 0 });
    expect(logs.events("inbound_email_queue_ack").map((e) => e.provider).sort()).toEqual(["google", "imap", "microsoft"]);
    for (const line of logs.lines()) expect(JSON.stringify(line)).not.toMatch(/Hello, this is message|From Graph/);
    await db.close();
  });

  it("a pointer for a message the provider no longer has is acked as a skip with its reason", async () => {
    const db = openPostgres(database.url);
    const [ms] = await new Mailboxes(db).list("microsoft");
    await q.queue.enqueue([{ job: { provider: "microsoft", tenantId: "acme", providerId: ms!.providerId, pointer: { subscriptionId: "sub", messageId: "gone", resource: "Users/x/Messages/gone", changeType: "created" } } }]);
    await until(async () => logs.events("inbound_email_queue_skip").length === 1, 20_000, lastLogs);
    expect(logs.events("inbound_email_queue_skip")[0]).toMatchObject({ reason: "source_unavailable:microsoft_message_not_found", provider: "microsoft" });
    await db.close();
  });

  it("serves /healthz, and /readyz answers 200 while Redis and the database answer and 503 naming the one that does not", async () => {
    const base = app.http!.url;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: "ok" }]);
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: "ready", checks: { redis: "ok", database: "ok" } }]);
    const unknown = await fetch(`${base}/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "not_found" } });
  });
});
