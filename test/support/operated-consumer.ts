// A consumer as an operator meets it, for the console and metrics tests: the real app
// (startConsumerApp) on real Redis and PostgreSQL with its HTTP server and INLET_ADMIN_TOKEN set,
// the local Graph fake, a peer answering Graph's validation handshake as the Worker does (so
// subscriptions are real), and a Microsoft mailbox connected with a subscription.
import { inject } from "vitest";
import { startConsumerApp, type ConsumerApp, type ConsumerAppParts } from "../../consumer/app.ts";
import { consumerConfig } from "../../consumer/config.ts";
import { subscribeMicrosoft } from "../../consumer/providers/microsoft.ts";
import { startFakeGraph, type FakeGraph } from "../../dev/fakes/graph.ts";
import type { Fault } from "../../dev/fakes/http-server.ts";
import { startValidationPeer } from "../../dev/fakes/validation-peer.ts";
import { captureLogs } from "./log-capture.ts";
import { createPostgresDatabase } from "./database.ts";
import { buildMail } from "./mail.ts";
import { testQueue, type TestQueue } from "./queues.ts";
import { until } from "./until.ts";

export const ADMIN_TOKEN = "console-test-admin-token-7f3a";
export const MAILBOX = "helpdesk@acme.example";
export const CLIENT_SECRET = "graph-client-s3cret-do-not-render";

export interface OperatedConsumer {
  app: ConsumerApp;
  graph: FakeGraph;
  q: TestQueue;
  /** The consumer's HTTP base URL. */
  url: string;
  /** The environment the consumer runs with, for `inlet` commands against the same queue and database. */
  env: Record<string, string>;
  providerId: string;
  logs: ReturnType<typeof captureLogs>;
  /** Put a message in the mailbox and its pointer in the queue (as a notification would). */
  deliver(subject: string, options?: { fault?: Fault }): Promise<{ messageId: string; jobId: string }>;
  tickets(): Promise<number>;
  close(): Promise<void>;
}

export async function startOperatedConsumer(options: { port: number; env?: Record<string, string>; parts?: ConsumerAppParts }): Promise<OperatedConsumer> {
  const [graph, database, ingress] = await Promise.all([startFakeGraph(), createPostgresDatabase(), startValidationPeer()]);
  graph.addApp({ azureTenantId: "acme-entra", clientId: "app", clientSecret: CLIENT_SECRET });
  const q = testQueue("tcp");
  const logs = captureLogs();
  const env: Record<string, string> = {
      REDIS_URL: inject("redisUrl"),
      UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: q.settings.keys.ready.replace(/ready$/, ""),
      DATABASE_URL: database.url,
      MICROSOFT_GRAPH_BASE_URL: graph.graphBaseUrl,
      MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl,
      INGRESS_URL: ingress.url,
      INLET_IMAP_LISTENER: "0",
      INLET_CONCURRENCY: "2",
      INLET_HTTP_HOST: "127.0.0.1",
      INLET_HTTP_PORT: String(options.port),
      INLET_ADMIN_TOKEN: ADMIN_TOKEN,
      INLET_HEALTH_FLUSH_MS: "200",
      INLET_METRICS_CACHE_MS: "0",
      // Sweeps only when a test asks for one.
      INLET_RECONCILE_INTERVAL_MS: "3600000",
      ...options.env,
  };
  const app = await startConsumerApp(consumerConfig(env), logs.log, options.parts ?? {});
  const providerId = await app.mailboxes.add({ tenantId: "acme", kind: "microsoft", address: MAILBOX, credentials: { type: "microsoft", azureTenantId: "acme-entra", clientId: "app", clientSecret: CLIENT_SECRET } });
  await subscribeMicrosoft(app.providerContext, (await app.mailboxes.get(providerId))!);
  let n = 0;
  return {
    app,
    graph,
    q,
    url: app.http!.url,
    env,
    providerId,
    logs,
    async deliver(subject, o = {}) {
      const messageId = graph.addMessage(MAILBOX, buildMail({ id: `console-${n++}-${Date.now()}@customer.example`, subject }));
      if (o.fault) graph.faults.set(`message:${messageId}`, o.fault);
      const subscriptionId = (await app.mailboxes.get(providerId))!.cursors.graphSubscriptionId!;
      const { jobs } = await q.queue.enqueue([{ job: { provider: "microsoft", tenantId: "acme", providerId, pointer: { subscriptionId, messageId, resource: `Users/${MAILBOX}/Messages/${messageId}`, changeType: "created" } } }]);
      return { messageId, jobId: jobs[0]!.jobId };
    },
    async tickets() {
      return (await app.db.query<{ n: number }>("SELECT count(*)::int AS n FROM tickets"))[0]!.n;
    },
    async close() {
      await app.stop();
      await Promise.all([graph.close(), q.close(), ingress.close()]);
      await database.drop();
    },
  };
}

/** Waits for the job to be dead-lettered. */
export async function untilDeadLettered(c: OperatedConsumer, jobId: string): Promise<void> {
  await until(async () => (await c.q.queue.deadLetters(0, 1000)).records.some((r) => r.id === jobId || r.job?.jobId === jobId), 20_000, () => `dead letter ${jobId} (logs: ${JSON.stringify(c.logs.lines().slice(-4))})`);
}

export const testPort = (offset: number) => Number(process.env.INLET_TEST_PORT_BASE ?? 18000) + offset;
