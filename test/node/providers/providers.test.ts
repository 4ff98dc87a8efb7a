// Mailbox onboarding and upkeep against the local Graph and Gmail fakes: `inlet providers add |
// list | remove | renew` as a user runs them, renewal before expiry, and a `subscriptionRemoved`
// lifecycle event that recreates the subscription and resyncs.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { startFakeGraph, type FakeGraph } from "../../../dev/fakes/graph.ts";
import { startFakeGmail, type FakeGmail } from "../../../dev/fakes/gmail.ts";
import { createLifecycleHandler } from "../../../consumer/providers/upkeep.ts";
import { providerEndpoints } from "../../../consumer/config.ts";
import { createProviderApis } from "../../../consumer/provider-api/apis.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { openPostgres } from "../../../consumer/store/postgres.ts";
import { sha256Hex, registryField } from "../../../src/queue/registry.ts";
import { inlet } from "../../support/cli.ts";
import { keyEntry } from "../../support/secrets.ts";
import { outcomeOf } from "../../support/outcome.ts";
import { createPostgresDatabase } from "../../support/database.ts";
import { buildMail } from "../../support/mail.ts";
import { readyRaws, testQueue, type TestQueue } from "../../support/queues.ts";
import { startDovecot, type Dovecot } from "../../support/dovecot.ts";

let graph: FakeGraph;
let gmail: FakeGmail;
let dovecot: Dovecot;
let database: { url: string; drop(): Promise<void> };
let q: TestQueue;
let ingress: Server;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  [graph, gmail, database, dovecot] = await Promise.all([startFakeGraph(), startFakeGmail(), createPostgresDatabase(), startDovecot([{ user: "imap@acme.example", password: "pw" }])]);
  graph.addApp({ azureTenantId: "acme-entra", clientId: "app", clientSecret: "s3cret" });
  gmail.addClient({ clientId: "gc", clientSecret: "gs", refreshToken: "rt" });
  q = testQueue("tcp");
  // Graph validates notification URLs when it creates a subscription; this peer answers the
  // handshake as the Worker does (the Worker's own handshake has its tests in test/worker).
  ingress = createServer((req, res) => {
    const token = new URL(req.url ?? "/", "http://x").searchParams.get("validationToken");
    res.writeHead(token ? 200 : 202, { "content-type": "text/plain" }).end(token ?? "");
  });
  await new Promise<void>((r) => ingress.listen(0, "127.0.0.1", r));
  const address = ingress.address();
  env = {
    REDIS_URL: inject("redisUrl"),
    UPSTASH_REDIS_REST_URL: undefined,
    UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: q.settings.keys.ready.replace(/ready$/, ""),
    DATABASE_URL: database.url,
    MICROSOFT_GRAPH_BASE_URL: graph.graphBaseUrl,
    MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl,
    GMAIL_API_BASE_URL: gmail.gmailBaseUrl,
    GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl,
    INGRESS_URL: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
    MS_SECRET: "s3cret",
    // These tests are about providers, not sealing (test/node/secrets): plain storage is allowed.
    INLET_ALLOW_PLAINTEXT_SECRETS: "1",
  };
});

afterAll(async () => {
  await Promise.all([graph?.close(), gmail?.close(), dovecot?.stop(), q?.close(), new Promise((r) => ingress?.close(r))]);
  await database?.drop();
});

const registry = async () => q.redis.hgetall(q.settings.keys.registry);

describe("inlet providers", () => {
  let microsoftId = "";

  it("add microsoft: creates the Graph subscription with a random clientState and lifecycle URL, stores its expiry, writes the registry", async () => {
    const result = await inlet(["providers", "add", "microsoft", "--tenant", "acme", "--mailbox", "Helpdesk@Acme.example", "--azure-tenant", "acme-entra", "--client-id", "app", "--client-secret", "env:MS_SECRET"], env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { providerId: string; subscriptionId: string; expiresAt: string };
    microsoftId = out.providerId;
    const [subscription] = graph.subscriptions();
    expect(subscription).toMatchObject({ id: out.subscriptionId, changeType: "created", notificationUrl: `${env.INGRESS_URL}/webhooks/microsoft`, lifecycleNotificationUrl: `${env.INGRESS_URL}/webhooks/microsoft/lifecycle`, resource: "users/helpdesk%40acme.example/mailFolders('inbox')/messages" });
    expect(subscription!.clientState.length).toBeGreaterThanOrEqual(32);
    const entry = JSON.parse((await registry())[registryField.microsoftSubscription(out.subscriptionId)]!) as Record<string, string>;
    expect(entry).toEqual({ tenantId: "acme", providerId: microsoftId, secretHash: await sha256Hex(subscription!.clientState) });
    const db = openPostgres(database.url);
    const row = await new Mailboxes(db, env).get(microsoftId);
    expect(row?.cursors).toMatchObject({ graphSubscriptionId: out.subscriptionId, graphSubscriptionExpiresAt: out.expiresAt });
    expect(row?.credentials).toMatchObject({ clientSecret: "s3cret" }); // env: reference resolved at use
    expect((await db.query<{ credentials: { clientSecret: string } }>("SELECT credentials FROM mailbox_providers WHERE id = $1", [microsoftId]))[0]!.credentials.clientSecret).toBe("env:MS_SECRET");
    await db.close();
  });

  it("add google: calls watch on INBOX and stores the history id; add imap: registers the provider", async () => {
    const google = await inlet(["providers", "add", "google", "--tenant", "acme", "--address", "support@acme-gmail.example", "--client-id", "gc", "--client-secret", "gs", "--refresh-token", "rt", "--topic", "projects/acme/topics/gmail"], env);
    expect(google.code).toBe(0);
    const out = JSON.parse(google.stdout) as { providerId: string; historyId: string };
    expect(out.historyId).toBe(gmail.historyId("support@acme-gmail.example"));
    expect(gmail.watch("support@acme-gmail.example")).toMatchObject({ topicName: "projects/acme/topics/gmail" });
    expect(JSON.parse((await registry())[registryField.googleMailbox("support@acme-gmail.example")]!)).toEqual({ tenantId: "acme", providerId: out.providerId });

    // Mail already in the folder is its history; mail that arrives after the connection (even
    // before any watcher first connects) is caught up from the cursor the connection stored.
    await dovecot.deliver("imap@acme.example", buildMail({ id: "history@example.org" }));
    const imap = await inlet(["providers", "add", "imap", "--tenant", "acme", "--address", "imap@acme.example", "--host", dovecot.host, "--port", String(dovecot.port), "--no-tls", "--user", "imap@acme.example", "--password", "pw"], env);
    expect(imap.stderr).toBe("");
    expect(imap.code).toBe(0);
    const imapId = (JSON.parse(imap.stdout) as { providerId: string }).providerId;
    expect(Object.keys(await registry())).toContain(registryField.imapProvider(imapId));
    const db = openPostgres(database.url);
    const stored = (await new Mailboxes(db, env).get(imapId))!.cursors;
    await db.close();
    expect(stored).toMatchObject({ imapLastUid: 1 });
    expect(stored.imapUidValidity).toMatch(/^\d+$/);

    const refused = await inlet(["providers", "add", "imap", "--tenant", "acme", "--address", "wrong@acme.example", "--host", dovecot.host, "--port", String(dovecot.port), "--no-tls", "--user", "imap@acme.example", "--password", "wrong"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/could not connect imap mailbox wrong@acme.example: the IMAP server refused the login/);

    const list = await inlet(["providers", "list", "--json"], env);
    expect((JSON.parse(list.stdout) as { kind: string }[]).map((r) => r.kind).sort()).toEqual(["google", "imap", "microsoft"]);

    expect((await inlet(["providers", "remove", imapId], env)).stdout).toBe(`removed ${imapId}\n`);
    expect(Object.keys(await registry())).not.toContain(registryField.imapProvider(imapId));
  });

  it("renew: subscriptions and watches near expiry are renewed before they lapse", async () => {
    const db = openPostgres(database.url);
    const soon = new Date(Date.now() + 3600_000).toISOString();
    await db.query("UPDATE mailbox_providers SET cursors = cursors || $1::jsonb WHERE kind = 'microsoft'", [JSON.stringify({ graphSubscriptionExpiresAt: soon })]);
    await db.query("UPDATE mailbox_providers SET cursors = cursors || $1::jsonb WHERE kind = 'google'", [JSON.stringify({ gmailWatchExpiration: soon })]);
    const result = await inlet(["providers", "renew", "--json"], env);
    expect(result.code).toBe(0);
    const reports = JSON.parse(result.stdout) as { kind: string; action: string; expiresAt: string }[];
    expect(reports.map((r) => [r.kind, r.action]).sort()).toEqual([["google", "rewatched"], ["microsoft", "renewed"]]);
    for (const r of reports) expect(Date.parse(r.expiresAt)).toBeGreaterThan(Date.now() + 2 * 24 * 3600_000);
    expect(Date.parse(graph.subscriptions()[0]!.expirationDateTime)).toBeGreaterThan(Date.now() + 2 * 24 * 3600_000);
    const again = JSON.parse((await inlet(["providers", "renew", "--json"], env)).stdout) as { action: string }[];
    expect(again.every((r) => r.action === "current")).toBe(true);
    await db.close();
  });

  it("a Graph 403 on renewal is permanent with its code: reported as microsoft_access_denied by renew, and a lifecycle job dead-letters at once instead of retrying", async () => {
    const db = openPostgres(database.url);
    const mailboxes = new Mailboxes(db, env);
    const soon = new Date(Date.now() + 3600_000).toISOString();
    await db.query("UPDATE mailbox_providers SET cursors = cursors || $1::jsonb WHERE kind = 'microsoft'", [JSON.stringify({ graphSubscriptionExpiresAt: soon })]);
    const denied = { status: 403, body: { error: { code: "ExtensionError", message: "Operation: Update; Exception: [Status Code: Forbidden; Reason: Access is denied.]" } } };
    graph.faults.set("subscription", { ...denied, times: 2 }); // the stale token, then a fresh one
    const result = await inlet(["providers", "renew", "--json"], env);
    expect(result.code).toBe(1);
    const reports = JSON.parse(result.stdout) as { kind: string; action: string; code?: string }[];
    expect(reports.find((r) => r.kind === "microsoft")).toMatchObject({ action: "failed", code: "microsoft_access_denied" });

    graph.faults.set("subscription", { ...denied, times: 2 });
    const handler = createLifecycleHandler({ mailboxes, queue: q.queue, apis: createProviderApis(providerEndpoints(env)), ingressUrl: env.INGRESS_URL });
    const subscriptionId = graph.subscriptions()[0]!.id;
    const job = { jobId: "lc-403", schemaVersion: 1 as const, provider: "microsoft" as const, kind: "lifecycle" as const, tenantId: "acme", providerId: microsoftId, enqueuedAt: 0, attempt: 0, pointer: { subscriptionId, lifecycleEvent: "reauthorizationRequired" as const } };
    expect(await outcomeOf(handler.handle(job, new AbortController().signal))).toBe("dead_letter:microsoft_access_denied");
    graph.faults.clear();
    await db.close();
  });

  it("a subscriptionRemoved lifecycle event recreates the subscription, swaps the registry entry and resyncs", async () => {
    const db = openPostgres(database.url);
    const mailboxes = new Mailboxes(db, env);
    const old = graph.subscriptions()[0]!;
    for (let i = 0; i < 3; i++) graph.addMessage("helpdesk@acme.example", buildMail({ id: `missed-${i}@example.org` }));
    graph.dropSubscription(old.id);
    const handler = createLifecycleHandler({ mailboxes, queue: q.queue, apis: createProviderApis(providerEndpoints(env)), ingressUrl: env.INGRESS_URL });
    const outcome = await handler.handle({ jobId: "lc", schemaVersion: 1, provider: "microsoft", kind: "lifecycle", tenantId: "acme", providerId: microsoftId, enqueuedAt: 0, attempt: 0, pointer: { subscriptionId: old.id, lifecycleEvent: "subscriptionRemoved" } }, new AbortController().signal);
    expect(outcome).toEqual({ outcome: "processed", messages: [] });
    const [fresh] = graph.subscriptions();
    expect(fresh!.id).not.toBe(old.id);
    const fields = Object.keys(await registry());
    expect(fields).toContain(registryField.microsoftSubscription(fresh!.id));
    expect(fields).not.toContain(registryField.microsoftSubscription(old.id));
    expect((await mailboxes.get(microsoftId))?.cursors.graphSubscriptionId).toBe(fresh!.id);
    const ready = (await readyRaws(q)).map((r) => JSON.parse(r) as { provider: string; providerId: string });
    expect(ready).toHaveLength(3);
    expect(ready.every((j) => j.provider === "microsoft" && j.providerId === microsoftId)).toBe(true);
    await db.close();
  });

  it("bad arguments and unknown ids fail clearly", async () => {
    expect(await inlet(["providers", "add", "microsoft", "--mailbox", "x@y"], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("--tenant") });
    expect(await inlet(["providers", "add", "google", "--tenant", "t", "--address", "a@b.c", "--client-id", "c", "--client-secret", "s", "--refresh-token", "r", "--topic", "gmail"], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("projects/<project>/topics/<topic>") });
    expect(await inlet(["providers", "remove", "nope"], env)).toMatchObject({ code: 1, stderr: "inlet: no connected mailbox with id nope\n" });
    const wrong = await inlet(["providers", "add", "microsoft", "--tenant", "acme", "--mailbox", "other@acme.example", "--azure-tenant", "acme-entra", "--client-id", "app", "--client-secret", "wrong"], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("could not connect microsoft mailbox other@acme.example");
  });

  it("without a key ring, a secret given as a value is refused and nothing is stored; with INLET_SECRETS_KEY it is sealed", async () => {
    const strict = { ...env, INLET_ALLOW_PLAINTEXT_SECRETS: undefined };
    const args = ["providers", "add", "google", "--tenant", "acme", "--address", "plain@acme-gmail.example", "--client-id", "gc", "--client-secret", "gs", "--refresh-token", "rt", "--topic", "projects/acme/topics/gmail"];
    const refused = await inlet(args, strict);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("refusing to store a secret in plain text: set INLET_SECRETS_KEY");
    const db = openPostgres(database.url);
    const count = async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM mailbox_providers WHERE address = 'plain@acme-gmail.example'"))[0]!.n;
    expect(await count()).toBe(0);
    expect(await inlet(args, { ...strict, INLET_SECRETS_KEY: keyEntry("cli") })).toMatchObject({ code: 0 });
    const [row] = await db.query<{ credentials: { clientSecret: string; refreshToken: string } }>("SELECT credentials FROM mailbox_providers WHERE address = 'plain@acme-gmail.example'");
    expect(row!.credentials.clientSecret).not.toBe("gs");
    expect(row!.credentials.refreshToken).not.toBe("rt");
    await db.close();
  });
});
