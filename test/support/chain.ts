// The whole chain for end-to-end tests: the provider fakes (Graph, Gmail, JWKS) and a private
// Dovecot, the real Worker under `wrangler dev` in front of the REST bridge, a PostgreSQL
// database, and the consumer app, connected to one mailbox of each provider through the real
// onboarding. Helpers deliver mail the way each provider announces it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { startConsumerApp, type ConsumerApp } from "../../consumer/app.ts";
import { consumerConfig } from "../../consumer/config.ts";
import type { Logger } from "../../consumer/runtime/log.ts";
import { subscribeMicrosoft } from "../../consumer/providers/microsoft.ts";
import { watchGmail } from "../../consumer/providers/google.ts";
import { connectImap } from "../../consumer/providers/imap.ts";
import { startFakeGraph, type FakeGraph } from "../../dev/fakes/graph.ts";
import { startFakeGmail, type FakeGmail } from "../../dev/fakes/gmail.ts";
import { startJwksServer, type JwksServer } from "../../dev/fakes/jwks.ts";
import { pushGmailNotification } from "../../dev/fakes/pubsub.ts";
import { startWorkerDev, type WorkerDev } from "../../dev/worker.ts";
import { startDovecot, type Dovecot } from "./dovecot.ts";
import { createPostgresDatabase } from "./database.ts";
import { uniquePrefix } from "./queues.ts";

export const CHAIN = {
  tenant: "acme",
  microsoft: { azureTenantId: "acme-entra", clientId: "app", clientSecret: "secret", mailbox: "helpdesk@acme.example" },
  google: { clientId: "gc", clientSecret: "gs", refreshToken: "rt", address: "support@acme-gmail.example", topic: "projects/acme/topics/gmail" },
  imap: { user: "imap@acme.example", password: "pw" },
  pushServiceAccount: "push@acme.iam.gserviceaccount.com",
  adminToken: "chain-admin-token",
  imapSecret: "chain-imap-secret",
} as const;

export interface Chain {
  graph: FakeGraph;
  gmail: FakeGmail;
  jwks: JwksServer;
  dovecot: Dovecot;
  worker: WorkerDev;
  app: ConsumerApp;
  prefix: string;
  providerIds: { microsoft: string; google: string; imap: string };
  /** The fraction of Gmail pushes `pushGmail` silently does not send. */
  dropPushes: number;
  /** Deliver to Graph and send its change notification (unless the fake drops it, or `notify` is false). */
  sendMicrosoft(raw: string | Uint8Array, options?: { notify?: boolean }): Promise<void>;
  /** Deliver to Gmail and push its notification through Pub/Sub (unless dropped, or `notify` is false). */
  sendGmail(raw: string | Uint8Array, options?: { notify?: boolean }): Promise<void>;
  sendImap(raw: string | Uint8Array): Promise<void>;
  processed(): Promise<number>;
  close(): Promise<void>;
}

export async function startChain(options: { env?: Record<string, string>; log: Logger; workerPort: number }): Promise<Chain> {
  const [graph, gmail, jwks, dovecot, database] = await Promise.all([startFakeGraph(), startFakeGmail(), startJwksServer(), startDovecot([{ user: CHAIN.imap.user, password: CHAIN.imap.password }]), createPostgresDatabase()]);
  graph.addApp(CHAIN.microsoft);
  gmail.addClient(CHAIN.google);
  const prefix = uniquePrefix("chain");
  const persistTo = mkdtempSync(join(tmpdir(), "inlet-chain-wrangler-"));
  const workerUrl = `http://127.0.0.1:${options.workerPort}`;
  const worker = await startWorkerDev({
    root: process.cwd(),
    port: options.workerPort,
    persistTo,
    log: () => undefined,
    vars: {
      UPSTASH_REDIS_REST_URL: inject("restUrl"),
      UPSTASH_REDIS_REST_TOKEN: inject("restToken"),
      INLET_ADMIN_TOKEN: CHAIN.adminToken,
      IMAP_WEBHOOK_SECRET: CHAIN.imapSecret,
      UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: prefix,
      GOOGLE_JWKS_URL: jwks.url,
      GOOGLE_PUBSUB_AUDIENCE: `${workerUrl}/webhooks/google`,
      GOOGLE_PUBSUB_SERVICE_ACCOUNTS: CHAIN.pushServiceAccount,
    },
  });
  const app = await startConsumerApp(
    consumerConfig({
      REDIS_URL: inject("redisUrl"),
      UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: prefix,
      DATABASE_URL: database.url,
      MICROSOFT_GRAPH_BASE_URL: graph.graphBaseUrl,
      MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl,
      GMAIL_API_BASE_URL: gmail.gmailBaseUrl,
      GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl,
      INGRESS_URL: workerUrl,
      IMAP_WEBHOOK_SECRET: CHAIN.imapSecret,
      INLET_HTTP_PORT: "0",
      ...options.env,
    }),
    options.log,
  );
  const ctx = app.providerContext;
  const { mailboxes } = app;
  const microsoft = await mailboxes.add({ tenantId: CHAIN.tenant, kind: "microsoft", address: CHAIN.microsoft.mailbox, credentials: { type: "microsoft", azureTenantId: CHAIN.microsoft.azureTenantId, clientId: CHAIN.microsoft.clientId, clientSecret: CHAIN.microsoft.clientSecret } });
  await subscribeMicrosoft(ctx, (await mailboxes.get(microsoft))!);
  const google = await mailboxes.add({ tenantId: CHAIN.tenant, kind: "google", address: CHAIN.google.address, credentials: { type: "google", clientId: CHAIN.google.clientId, clientSecret: CHAIN.google.clientSecret, refreshToken: CHAIN.google.refreshToken } });
  await watchGmail(ctx, (await mailboxes.get(google))!, CHAIN.google.topic, { setCursor: true });
  const imap = await mailboxes.add({ tenantId: CHAIN.tenant, kind: "imap", address: CHAIN.imap.user, credentials: { type: "imap", host: dovecot.host, port: dovecot.port, secure: false, user: CHAIN.imap.user, password: CHAIN.imap.password } });
  await connectImap(ctx, (await mailboxes.get(imap))!);
  await app.listener?.refresh();

  const chain: Chain = {
    graph,
    gmail,
    jwks,
    dovecot,
    worker,
    app,
    prefix,
    providerIds: { microsoft, google, imap },
    dropPushes: 0,
    async sendMicrosoft(raw, options = {}) {
      const id = graph.addMessage(CHAIN.microsoft.mailbox, raw);
      if (options.notify !== false) await graph.notify(CHAIN.microsoft.mailbox, id);
    },
    async sendGmail(raw, options = {}) {
      const { historyId } = gmail.addMessage(CHAIN.google.address, raw);
      if (options.notify === false || Math.random() < chain.dropPushes) return;
      await pushGmailNotification(`${workerUrl}/webhooks/google`, { privateJwk: jwks.privateJwk, audience: `${workerUrl}/webhooks/google`, serviceAccount: CHAIN.pushServiceAccount }, { emailAddress: CHAIN.google.address, historyId });
    },
    async sendImap(raw) {
      await dovecot.deliver(CHAIN.imap.user, raw);
    },
    async processed() {
      const [row] = await app.db.query<{ n: number }>("SELECT count(*)::int AS n FROM email_processed_messages WHERE tenant_id = $1", [CHAIN.tenant]);
      return row?.n ?? 0;
    },
    async close() {
      await app.stop();
      await worker.stop();
      await Promise.all([graph.close(), gmail.close(), jwks.close(), dovecot.stop()]);
      await database.drop();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
  return chain;
}
