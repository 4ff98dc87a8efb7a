// The whole chain as separate processes, for the chaos run and the end-to-end benchmark:
//   provider fakes (Graph, Gmail, JWKS; in this process) and a private Dovecot
//   Redis of its own (append-only) ← REST endpoint (process) ← the Worker under `wrangler dev`
//   PostgreSQL cluster of its own ← the consumer (process group, concurrency 8, its IMAP listener
//   posting to the Worker, its reconciliation sweep)
// One tenant with one mailbox per provider, connected through the real onboarding (the Graph
// subscription is validated against the Worker). Every process is registered with the cleanup.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import { consumerConfig } from "../../consumer/config.ts";
import { createProviderApis } from "../../consumer/provider-api/apis.ts";
import { subscribeMicrosoft } from "../../consumer/providers/microsoft.ts";
import { watchGmail } from "../../consumer/providers/google.ts";
import { connectImap } from "../../consumer/providers/imap.ts";
import { connectQueue } from "../../consumer/runtime/queue-connection.ts";
import { Mailboxes } from "../../consumer/store/mailboxes.ts";
import { openDatabase } from "../../consumer/store/open.ts";
import { startDovecot, type Dovecot } from "../../dev/dovecot.ts";
import { startFakeGmail, type FakeGmail } from "../../dev/fakes/gmail.ts";
import { startFakeGraph, type FakeGraph } from "../../dev/fakes/graph.ts";
import { startJwksServer, type JwksServer } from "../../dev/fakes/jwks.ts";
import type { PushIdentity } from "../../dev/fakes/pubsub.ts";
import { startWorkerDev, type WorkerDev } from "../../dev/worker.ts";
import { Cleanup } from "./cleanup.ts";
import { consumerGroup, type ConsumerGroup } from "./consumer-group.ts";
import { childEnv, freePort, startOwnPostgres, startOwnRedis, startOwnRestBridge, type OwnPostgres, type OwnRedis, type OwnRestBridge } from "./services.ts";

export const TENANT = "chain";
export const MAILBOXES = {
  microsoft: { azureTenantId: "chain-entra", clientId: "chain-app", clientSecret: "chain-app-secret", mailbox: "helpdesk@chain-m365.example" },
  google: { clientId: "chain-oauth", clientSecret: "chain-oauth-secret", refreshToken: "chain-refresh", address: "support@chain-gmail.example", topic: "projects/chain/topics/gmail" },
  imap: { user: "service@chain-imap.example", password: "chain-imap-password" },
  pushServiceAccount: "push@chain.iam.gserviceaccount.com",
  /** Mailboxes no notification or sweep watches, in the same fakes and Dovecot: the benchmark's baseline reads them directly. */
  bare: { graphMailbox: "bare@chain-m365.example", gmailUser: "bare@chain-gmail.example", imapUser: "bare@chain-imap.example", imapPassword: "bare-imap-password" },
} as const;
const SECRETS = { rest: "chain-rest-token-0123456789", admin: "chain-admin-token-0123456789", imap: "chain-imap-webhook-secret-0123456789" };

export interface StackOptions {
  root: string;
  /** Logs and data of every process. */
  dir: string;
  /** The Worker's port (tests pass one from INLET_TEST_PORT_BASE); a free one otherwise. */
  workerPort?: number;
  /** Consumer settings on top of the chain's (INLET_CONCURRENCY=8 and the endpoints). */
  consumerEnv: Record<string, string>;
  /** Called with the UIDs of each IMAP listener post as it reaches the edge (a recording hop in front of the Worker). */
  onImapPost?: (uids: number[], at: number) => void;
  progress: (line: string) => void;
}

export interface ChainStack {
  redis: OwnRedis;
  postgres: OwnPostgres;
  rest: OwnRestBridge;
  worker: WorkerDev;
  consumer: ConsumerGroup;
  graph: FakeGraph;
  gmail: FakeGmail;
  jwks: JwksServer;
  dovecot: Dovecot;
  /** An IMAP session of the mailbox's user, for APPEND (UIDPLUS gives the UID). */
  imapClient: ImapFlow;
  push: PushIdentity & { endpoint: string };
  providerIds: { microsoft: string; google: string; imap: string };
  /** The environment the consumer runs with. */
  consumerEnv: Record<string, string>;
  workerUrl: string;
  /** Runs the Worker's scheduled() (what the Cron Trigger does every minute in production). */
  scheduled(): Promise<void>;
  cleanup: Cleanup;
}

export async function startStack(o: StackOptions, cleanup: Cleanup): Promise<ChainStack> {
  const step = async <T>(what: string, start: () => Promise<T>): Promise<T> => {
    const began = Date.now();
    const value = await start();
    o.progress(`  ${what} (${((Date.now() - began) / 1000).toFixed(1)} s)`);
    return value;
  };
  const [graph, gmail, jwks] = await step("provider fakes", () => Promise.all([startFakeGraph(), startFakeGmail(), startJwksServer()]));
  cleanup.add("provider fakes", () => Promise.all([graph.close(), gmail.close(), jwks.close()]).then(() => undefined));
  graph.addApp(MAILBOXES.microsoft);
  gmail.addClient(MAILBOXES.google);
  const dovecot = await step("Dovecot", () => startDovecot([
      { user: MAILBOXES.imap.user, password: MAILBOXES.imap.password },
      { user: MAILBOXES.bare.imapUser, password: MAILBOXES.bare.imapPassword },
    ]));
  cleanup.add("Dovecot", () => dovecot.stop());
  const redis = await step("Redis (append-only)", () => startOwnRedis(o.dir));
  cleanup.add("Redis", () => redis.stop());
  const postgres = await step("PostgreSQL cluster (initdb, pg_ctl)", () => startOwnPostgres(o.dir));
  cleanup.add("PostgreSQL", () => postgres.stop());
  const rest = await step("REST endpoint", () => startOwnRestBridge({ root: o.root, dir: o.dir, redisUrl: redis.url, token: SECRETS.rest }));
  cleanup.add("REST endpoint", () => rest.stop());

  const workerPort = o.workerPort ?? (await freePort());
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const queueVars = Object.fromEntries(Object.entries(o.consumerEnv).filter(([k]) => /^UNIFIED_INBOUND_EMAIL_QUEUE_(MAX_ATTEMPTS|CLAIM_TTL_MS|DEDUPE_TTL_MS|PREFIX)$/.test(k)));
  const worker = await step("Worker (wrangler dev)", async () => {
    const env = process.env.PATH;
    process.env.PATH = childEnv().PATH; // wrangler needs the harness's Node first on PATH
    try {
      return await startWorkerDev({
        root: o.root,
        port: workerPort,
        persistTo: join(o.dir, "wrangler"),
        log: () => undefined,
        vars: {
          UPSTASH_REDIS_REST_URL: rest.url,
          UPSTASH_REDIS_REST_TOKEN: rest.token,
          INLET_ADMIN_TOKEN: SECRETS.admin,
          IMAP_WEBHOOK_SECRET: SECRETS.imap,
          GOOGLE_JWKS_URL: jwks.url,
          GOOGLE_PUBSUB_AUDIENCE: `${workerUrl}/webhooks/google`,
          GOOGLE_PUBSUB_SERVICE_ACCOUNTS: MAILBOXES.pushServiceAccount,
          ...queueVars,
        },
      });
    } finally {
      process.env.PATH = env;
    }
  });
  cleanup.add("Worker", () => worker.stop());

  const ingressUrl = o.onImapPost ? await startRecordingHop(workerUrl, o.onImapPost, cleanup) : workerUrl;
  const consumerEnv: Record<string, string> = {
    REDIS_URL: redis.url,
    DATABASE_URL: postgres.url,
    MICROSOFT_GRAPH_BASE_URL: graph.graphBaseUrl,
    MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl,
    GMAIL_API_BASE_URL: gmail.gmailBaseUrl,
    GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl,
    INGRESS_URL: ingressUrl,
    IMAP_WEBHOOK_SECRET: SECRETS.imap,
    INLET_CONCURRENCY: "8",
    INLET_HTTP_PORT: "0",
    LOG_LEVEL: "info",
    ...o.consumerEnv,
  };
  const providerIds = await step("mailboxes connected (Graph subscription, Gmail watch, IMAP cursor)", () => onboard(consumerEnv, workerUrl, dovecot));

  const imapClient = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: MAILBOXES.imap.user, pass: MAILBOXES.imap.password }, logger: false });
  imapClient.on("error", () => undefined);
  await imapClient.connect();
  cleanup.add("IMAP client", () => imapClient.logout().catch(() => imapClient.close()));

  const consumer = consumerGroup({ root: o.root, env: consumerEnv, logFile: join(o.dir, "consumer.log") });
  cleanup.add("consumer", () => consumer.stop());
  await step("consumer", async () => {
    consumer.start();
    await consumer.ready(90_000);
  });

  return {
    redis,
    postgres,
    rest,
    worker,
    consumer,
    graph,
    gmail,
    jwks,
    dovecot,
    imapClient,
    push: { privateJwk: jwks.privateJwk, audience: `${workerUrl}/webhooks/google`, serviceAccount: MAILBOXES.pushServiceAccount, endpoint: `${workerUrl}/webhooks/google` },
    providerIds,
    consumerEnv,
    workerUrl,
    async scheduled() {
      await fetch(`${workerUrl}/__scheduled?cron=*+*+*+*+*`).then((r) => r.body?.cancel()).catch(() => undefined);
    },
    cleanup,
  };
}

async function onboard(env: Record<string, string>, workerUrl: string, dovecot: Dovecot): Promise<ChainStack["providerIds"]> {
  const config = consumerConfig(env);
  const connection = connectQueue(config, { failFast: true });
  const db = await openDatabase(config);
  try {
    const mailboxes = new Mailboxes(db, config.secretsEnv);
    const ctx = { mailboxes, queue: connection.queue, apis: createProviderApis(config.providers), ingressUrl: workerUrl };
    const m = MAILBOXES;
    const microsoft = await mailboxes.add({ tenantId: TENANT, kind: "microsoft", address: m.microsoft.mailbox, credentials: { type: "microsoft", azureTenantId: m.microsoft.azureTenantId, clientId: m.microsoft.clientId, clientSecret: m.microsoft.clientSecret } });
    await subscribeMicrosoft(ctx, (await mailboxes.get(microsoft))!);
    const google = await mailboxes.add({ tenantId: TENANT, kind: "google", address: m.google.address, credentials: { type: "google", clientId: m.google.clientId, clientSecret: m.google.clientSecret, refreshToken: m.google.refreshToken } });
    await watchGmail(ctx, (await mailboxes.get(google))!, m.google.topic, { setCursor: true });
    const imap = await mailboxes.add({ tenantId: TENANT, kind: "imap", address: m.imap.user, credentials: { type: "imap", host: dovecot.host, port: dovecot.port, secure: false, user: m.imap.user, password: m.imap.password } });
    await connectImap(ctx, (await mailboxes.get(imap))!);
    return { microsoft, google, imap };
  } finally {
    await db.close();
    connection.close();
  }
}

/** A loopback hop in front of the Worker that notes when each IMAP listener post arrives, then forwards every request unchanged. */
async function startRecordingHop(workerUrl: string, onImapPost: (uids: number[], at: number) => void, cleanup: Cleanup): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "content-length" && k !== "connection") headers[k] = v;
      fetch(`${workerUrl}${req.url ?? "/"}`, { method: req.method ?? "POST", headers, ...(body.length ? { body } : {}) }).then(
        async (answer) => {
          const text = Buffer.from(await answer.arrayBuffer());
          if (answer.ok && req.url === "/webhooks/imap") {
            try {
              onImapPost((JSON.parse(body.toString()) as { uids: number[] }).uids, at);
            } catch {
              // not a listener post
            }
          }
          res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" }).end(text);
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.add("recording hop", () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}
