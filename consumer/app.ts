// The consumer process: claim loop + resolvers + processing + subscription upkeep + the IMAP
// listener + a periodic reclaim + webhook delivery, all from one parsed configuration
// (consumer/config.ts). The replica heartbeat tells the listener, the sweep and the upkeep which
// replicas share the mailboxes.
import { DEFAULT_HTTP_PORT, type ConsumerConfig } from "./config.ts";
import type { RenderOptions } from "./delivery/payload.ts";
import { connectQueue } from "./runtime/queue-connection.ts";
import { Consumer } from "./runtime/consumer.ts";
import { createJobHandler } from "./runtime/job-handler.ts";
import type { Logger } from "./runtime/log.ts";
import { periodic } from "./runtime/periodic.ts";
import { startReclaimer } from "./runtime/reclaimer.ts";
import { createProviderApis } from "./provider-api/apis.ts";
import { createResolvers } from "./resolvers/index.ts";
import { createProcessor } from "./processing/processor.ts";
import { openDatabase } from "./store/open.ts";
import { Mailboxes } from "./store/mailboxes.ts";
import { createLifecycleHandler, leasedShare, renewDue } from "./providers/upkeep.ts";
import { ImapListener } from "./imap-listener/listener.ts";
import { Reconciler } from "./reconcile/reconciler.ts";
import type { PointerQueue } from "../src/queue/queue.ts";
import type { Db } from "./store/db.ts";
import type { ProviderContext } from "./providers/context.ts";
import { secretsStatus } from "./store/sealing.ts";
import { createHttpApp } from "./http/app.ts";
import { ReplicaHeartbeat } from "./runtime/replica-heartbeat.ts";
import { rendezvousOwner } from "./runtime/mailbox-share.ts";
import { startHttpServer, type HttpServer } from "./http/server.ts";
import { InletMetrics } from "./metrics/metrics.ts";
import { HealthStore } from "./store/health.ts";
import { MailboxHealthRecorder } from "./runtime/mailbox-health.ts";
import { listMailboxHealth } from "./operations/mailboxes.ts";
import type { DeliveryOperations } from "./operations/deliveries.ts";
import { Deliverer } from "./delivery/deliverer.ts";
import { deliveryOperations } from "./delivery/console-operations.ts";

export interface ConsumerApp {
  consumer: Consumer;
  reconciler: Reconciler;
  listener: ImapListener | undefined;
  heartbeat: ReplicaHeartbeat;
  db: Db;
  mailboxes: Mailboxes;
  queue: PointerQueue;
  providerContext: ProviderContext;
  /** The HTTP server, when INLET_HTTP_PORT is not 0. */
  http: HttpServer | undefined;
  metrics: InletMetrics;
  health: MailboxHealthRecorder;
  /** Webhook delivery, unless INLET_WEBHOOKS=0. */
  deliverer: Deliverer | undefined;
  stop(): Promise<void>;
}

/** Parts made elsewhere: webhook delivery, when it is configured. */
export interface ConsumerAppParts {
  deliveries?: DeliveryOperations;
}

export async function startConsumerApp(config: ConsumerConfig, log: Logger, parts: ConsumerAppParts = {}): Promise<ConsumerApp> {
  const connection = connectQueue(config, { wake: true });
  const db = await openDatabase(config);
  const mailboxes = new Mailboxes(db, config.secretsEnv, config.secrets);
  await warnAboutPlainSecrets(db, config, log);
  const healthStore = new HealthStore(db);
  // The console's deliveries page and the webhook metrics read the outbox (tests may pass their own).
  const deliveries = parts.deliveries ?? deliveryOperations(db);
  const metrics = new InletMetrics({
    sources: { queueStats: () => connection.queue.stats(), mailboxes: () => listMailboxHealth(mailboxes, healthStore), deliveries },
    cacheMs: config.operations.metricsCacheMs,
  });
  const health = new MailboxHealthRecorder({ store: healthStore, listMailboxes: () => mailboxes.list(), log, flushMs: config.operations.healthFlushMs });
  const apis = createProviderApis(config.providers, undefined, metrics);
  const resolvers = createResolvers(apis, { maxMessageBytes: config.limits.maxMessageBytes, log, confirmGmailCursor: (address, historyId) => connection.queue.confirmGmailCursor(address, historyId) });
  let deliverer: Deliverer | undefined;
  const processor = createProcessor({ db, limits: config.limits, mail: config.mail, onDeliveriesQueued: () => deliverer?.nudge() });
  const providerContext: ProviderContext = { mailboxes, queue: connection.queue, apis, ingressUrl: config.ingressUrl, log };
  const consumer = new Consumer({
    queue: connection.queue,
    handler: createJobHandler({ directory: mailboxes, resolvers, processor, lifecycle: createLifecycleHandler(providerContext), log, timing: metrics }),
    observers: [metrics, health],
    log,
    concurrency: config.concurrency,
    prefetch: config.prefetch,
    ...(connection.wake ? { wake: connection.wake } : {}),
    jobTimeoutMs: config.jobTimeoutMs,
    shutdownGraceMs: config.shutdownGraceMs,
  });
  consumer.start();
  health.start();
  const reclaimer = startReclaimer(connection.queue, log, config.reclaimIntervalMs);
  const { registry } = connection.queue.keys;
  // Every queue key is the prefix plus its name: the heartbeat's keys sit beside them.
  const heartbeat = new ReplicaHeartbeat({ scripts: connection.scripts, prefix: registry.replace(/registry$/, ""), ttlMs: config.replicaTtlMs, capacity: config.imapListener ? config.imapListener.maxMailboxes : 0, log });
  await heartbeat.start();
  const owns = (providerId: string) => rendezvousOwner(providerId, heartbeat.liveIds) === heartbeat.id;
  const upkeepShare = leasedShare(connection.scripts, `${registry}:upkeep:`, heartbeat.id, owns);
  const upkeep = periodic("provider_upkeep", config.renewIntervalMs, log, async () => {
    for (const report of await renewDue(providerContext, Date.now(), upkeepShare)) {
      if (report.action === "failed") log.error({ event: "inbound_email_provider_renew", ...report }, "provider upkeep failed for a mailbox; it is tried again on the next tick");
      else if (report.action !== "current") log.info({ event: "inbound_email_provider_renew", ...report }, "provider upkeep");
    }
  });

  const reconciler = new Reconciler({ ctx: providerContext, scripts: connection.scripts, leasePrefix: `${registry}:sweep:`, intervalMs: config.reconcileIntervalMs, log, owns, onSweep: (report) => metrics.sweep(report) });
  reconciler.start();

  let listener: ImapListener | undefined;
  if (config.imapListener) {
    listener = new ImapListener({
      // A mailbox waiting for re-authorisation is not watched; connected again, it is.
      listMailboxes: async () => (await mailboxes.list("imap")).filter((m) => !m.authorisation),
      imapTokens: apis.imapTokens,
      directory: mailboxes,
      scripts: connection.scripts,
      leasePrefix: `${registry}:imap-watch:`,
      replicas: heartbeat,
      maxMailboxes: config.imapListener.maxMailboxes,
      firstRefreshMs: Math.floor(config.replicaTtlMs / 3),
      ingressUrl: config.imapListener.ingressUrl,
      webhookSecret: config.imapListener.webhookSecret,
      leaseTtlMs: config.imapListener.leaseTtlMs,
      refreshMs: Math.max(100, Math.floor(config.imapListener.leaseTtlMs / 3)),
      reconcileMs: config.reconcileIntervalMs,
      onSweep: (report) => metrics.sweep(report),
      log,
    });
    heartbeat.onChange = () => void listener?.refresh();
    await listener.start();
  }
  const render: RenderOptions = { publicUrl: config.delivery.publicUrl ?? `http://127.0.0.1:${config.http?.port ?? DEFAULT_HTTP_PORT}`, inlineMaxBytes: config.delivery.inlineMaxBytes };
  const http = config.http
    ? await startHttpServer(
        createHttpApp({
          readiness: [
            { name: "redis", check: () => connection.queue.stats() },
            { name: "database", check: () => db.query("SELECT 1") },
          ],
          log,
          metrics,
          console: { adminToken: config.adminToken, sessionMs: config.operations.consoleSessionMs, queue: connection.queue, providers: providerContext, health: healthStore, db, rates: metrics.rates },
          deliveries,
          delivery: { admin: { db, secrets: config.secrets, delivery: config.delivery }, adminToken: config.adminToken, render },
        }),
        config.http,
      )
    : undefined;
  // Document URLs name this server unless INLET_PUBLIC_URL says where it is reached from outside.
  if (!config.delivery.publicUrl && http) render.publicUrl = http.url;
  if (config.delivery.enabled) {
    deliverer = new Deliverer({ db, secrets: config.secrets, config: config.delivery, render, log });
    deliverer.start();
  }
  log.info({ event: "inbound_email_consumer_started", replicaId: heartbeat.id, transport: connection.transport, redis: connection.target, database: db.kind, imapListener: !!listener, http: http?.url }, "consumer started");

  return {
    consumer,
    reconciler,
    listener,
    heartbeat,
    db,
    mailboxes,
    queue: connection.queue,
    providerContext,
    http,
    metrics,
    health,
    deliverer,
    async stop() {
      await http?.close();
      await deliverer?.stop();
      await Promise.all([upkeep.stop(), reclaimer.stop(), reconciler.stop()]);
      await listener?.stop();
      await heartbeat.stop();
      await consumer.stop();
      await health.stop();
      await Promise.all(Object.values(resolvers).map((r) => r.close()));
      await db.close();
      connection.close();
    },
  };
}

/** Plain secrets are allowed (no key ring yet) but never quietly. */
async function warnAboutPlainSecrets(db: Db, config: ConsumerConfig, log: Logger): Promise<void> {
  const { plainRows } = await secretsStatus(db);
  if (plainRows === 0) return;
  const fix = config.secrets ? "run `inlet secrets rotate` to seal them" : "set INLET_SECRETS_KEY and run `inlet secrets rotate` to seal them";
  log.warn({ event: "inbound_email_secrets_plain", mailboxes: plainRows }, `${plainRows} mailbox(es) keep credentials in plain text: ${fix}`);
}
