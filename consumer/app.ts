// The consumer process: claim loop + resolvers + processing + subscription upkeep + the IMAP
// listener + a periodic reclaim, all configured from the environment (design sections 4 and 6).
import { connectQueue } from "./runtime/queue-connection.ts";
import { Consumer } from "./runtime/consumer.ts";
import { createJobHandler } from "./runtime/job-handler.ts";
import type { Logger } from "./runtime/log.ts";
import { startReclaimer } from "./runtime/reclaimer.ts";
import { createResolvers, providerEndpoints } from "./resolvers/index.ts";
import { TokenCache } from "./resolvers/token-cache.ts";
import { createProcessor } from "./processing/processor.ts";
import { openDatabase } from "./store/open.ts";
import { Mailboxes } from "./store/mailboxes.ts";
import { createLifecycleHandler, renewDue } from "./providers/upkeep.ts";
import { ImapListener } from "./imap-listener/listener.ts";
import type { PointerQueue } from "../src/queue/queue.ts";
import type { Db } from "./store/db.ts";
import type { ProviderContext } from "./providers/context.ts";

type Env = Readonly<Record<string, string | undefined>>;

const int = (env: Env, name: string, fallback: number) => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const count = (env: Env, name: string) => {
  const value = Number(env[name]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, 0 or more`);
  return value;
};

export interface ConsumerApp {
  consumer: Consumer;
  listener: ImapListener | undefined;
  db: Db;
  mailboxes: Mailboxes;
  queue: PointerQueue;
  providerContext: ProviderContext;
  stop(): Promise<void>;
}

export async function startConsumerApp(env: Env, log: Logger): Promise<ConsumerApp> {
  const connection = connectQueue(env, { wake: true });
  const db = await openDatabase(env);
  const mailboxes = new Mailboxes(db, env);
  const endpoints = providerEndpoints(env);
  const tokens = new TokenCache();
  const resolvers = createResolvers(endpoints, tokens, { log });
  const processor = createProcessor({
    db,
    limits: { maxMessageBytes: int(env, "INLET_MAX_MESSAGE_BYTES", 25 * 1024 * 1024), maxAttachmentBytes: int(env, "INLET_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024) },
  });
  const providerContext: ProviderContext = { mailboxes, queue: connection.queue, endpoints, tokens, ingressUrl: env.INGRESS_URL, log };
  const consumer = new Consumer({
    queue: connection.queue,
    handler: createJobHandler({ directory: mailboxes, resolvers, processor, lifecycle: createLifecycleHandler(providerContext) }),
    log,
    concurrency: int(env, "INLET_CONCURRENCY", 8),
    ...(env.INLET_PREFETCH === undefined ? {} : { prefetch: count(env, "INLET_PREFETCH") }),
    ...(connection.wake ? { wake: connection.wake } : {}),
    jobTimeoutMs: int(env, "INLET_JOB_TIMEOUT_MS", 5 * 60_000),
    shutdownGraceMs: int(env, "INLET_SHUTDOWN_GRACE_MS", 25_000),
  });
  consumer.start();
  const reclaimer = startReclaimer(connection.queue, log, int(env, "INLET_RECLAIM_INTERVAL_MS", 30_000));

  const renewTimer = setInterval(() => {
    void renewDue(providerContext).then((reports) => {
      for (const r of reports.filter((x) => x.action !== "current")) log.info({ event: "inbound_email_provider_renew", ...r }, "provider upkeep");
    });
  }, int(env, "INLET_RENEW_INTERVAL_MS", 3600_000));
  renewTimer.unref();

  let listener: ImapListener | undefined;
  if (env.INLET_IMAP_LISTENER !== "0" && env.INGRESS_URL && env.IMAP_WEBHOOK_SECRET) {
    listener = new ImapListener({
      listMailboxes: () => mailboxes.list("imap"),
      directory: mailboxes,
      scripts: connection.scripts,
      leasePrefix: `${connection.queue.keys.registry}:imap-watch:`,
      ingressUrl: env.INGRESS_URL,
      webhookSecret: env.IMAP_WEBHOOK_SECRET,
      log,
    });
    await listener.start();
  }
  log.info({ event: "inbound_email_consumer_started", transport: connection.transport, redis: connection.target, database: db.kind, imapListener: !!listener }, "consumer started");

  return {
    consumer,
    listener,
    db,
    mailboxes,
    queue: connection.queue,
    providerContext,
    async stop() {
      clearInterval(renewTimer);
      reclaimer.stop();
      await listener?.stop();
      await consumer.stop();
      await Promise.all(Object.values(resolvers).map((r) => r.close()));
      await db.close();
      connection.close();
    },
  };
}
