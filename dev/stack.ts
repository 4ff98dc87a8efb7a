// `inlet dev` / `npm start`: the whole stack on one machine, on embedded defaults.
//   Redis            REDIS_URL (default 127.0.0.1:6379); started if nothing answers and redis-server is installed
//   REST endpoint    Upstash-compatible, 127.0.0.1:8079, in front of that Redis
//   sandbox          local Graph, Gmail, OAuth and JWKS servers, and Dovecot when installed
//   Worker           `wrangler dev` on 127.0.0.1:8787 against the REST endpoint
//   consumer         in this process, on embedded PGlite (.inlet/pglite) unless DATABASE_URL is set,
//                    its stored credentials sealed with the development key (.inlet/secrets-key)
//   control          127.0.0.1:8794, for `inlet demo` (admin token required)
// One log stream, tagged by source. Ctrl-C (or SIGTERM) stops all of it.
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { startRestBridge } from "./rest-bridge.ts";
import { answers, startChild, waitUntil, type Child, type LogLine } from "./processes.ts";
import { startWorkerDev } from "./worker.ts";
import { loadDevSecrets, type DevSecrets } from "./secrets.ts";
import { startSandbox, type Sandbox } from "./sandbox.ts";
import { runDemo } from "./demo.ts";
import { consumerConfig, DEFAULT_REDIS_URL } from "../consumer/config.ts";
import { startConsumerApp } from "../consumer/app.ts";
import type { Logger } from "../consumer/runtime/log.ts";

export interface DevStackOptions {
  root: string;
  dataDir: string;
  redisUrl: string;
  restPort: number;
  workerPort: number;
  controlPort: number;
  log: LogLine;
  consumerLog: Logger;
}

export interface DevStack {
  urls: { redis: string; rest: string; worker: string; control: string; sandbox: Sandbox["urls"]; consumer: string | undefined };
  secrets: DevSecrets;
  stop(): Promise<void>;
  /** Resolves when a child process exits on its own (the stack is then broken). */
  failed: Promise<string>;
}

export function devStackOptions(env: NodeJS.ProcessEnv, root: string, log: LogLine, consumerLog: Logger): DevStackOptions {
  return {
    root,
    dataDir: env.INLET_DATA_DIR ?? join(root, ".inlet"),
    redisUrl: env.REDIS_URL ?? DEFAULT_REDIS_URL,
    restPort: Number(env.INLET_REST_PORT ?? 8079),
    workerPort: Number(env.INLET_WORKER_PORT ?? 8787),
    controlPort: Number(env.INLET_CONTROL_PORT ?? 8794),
    log,
    consumerLog,
  };
}

export async function startDevStack(o: DevStackOptions): Promise<DevStack> {
  const children: Child[] = [];
  const closers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const close of [...closers].reverse()) await close().catch(() => undefined);
    for (const child of [...children].reverse()) await child.stop();
  };
  try {
    const secrets = loadDevSecrets(o.dataDir);
    const redisUrl = new URL(o.redisUrl);
    const redisPort = Number(redisUrl.port || 6379);
    if (!(await answers(redisPort, redisUrl.hostname))) {
      const redis = startChild("redis", "redis-server", ["--port", String(redisPort), "--bind", redisUrl.hostname, "--save", "", "--appendonly", "no"], { log: o.log });
      children.push(redis);
      const started = await Promise.race([waitUntil(() => answers(redisPort, redisUrl.hostname), 10_000, "redis-server").then(() => true), redis.exited.then(() => false)]);
      if (!started) throw new Error(`nothing answers at ${o.redisUrl} and redis-server could not be started: install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL`);
    }

    const bridge = await startRestBridge({ redisUrl: o.redisUrl, token: secrets.restToken, port: o.restPort });
    closers.push(() => bridge.close());
    const sandbox = await startSandbox();
    closers.push(() => sandbox.close());

    const worker = `http://127.0.0.1:${o.workerPort}`;
    const vars: Record<string, string> = {
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: secrets.restToken,
      INLET_ADMIN_TOKEN: secrets.adminToken,
      IMAP_WEBHOOK_SECRET: secrets.imapWebhookSecret,
      ...(process.env.UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX ? { UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: process.env.UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX } : {}),
      ...sandbox.workerVars(worker),
    };
    const workerDev = await startWorkerDev({ root: o.root, port: o.workerPort, vars, persistTo: join(o.dataDir, "wrangler"), log: o.log });
    children.push(workerDev.child);

    const app = await startConsumerApp(
      consumerConfig({
        ...process.env,
        REDIS_URL: o.redisUrl,
        INGRESS_URL: worker,
        IMAP_WEBHOOK_SECRET: secrets.imapWebhookSecret,
        INLET_DATA_DIR: o.dataDir,
        // Stored credentials sealed with the stack's development key, unless one is set.
        INLET_SECRETS_KEY: process.env.INLET_SECRETS_KEY || secrets.secretsKey,
        INLET_RECLAIM_INTERVAL_MS: process.env.INLET_RECLAIM_INTERVAL_MS ?? "15000",
        // A local stack's console and admin endpoints answer on loopback only.
        INLET_HTTP_HOST: process.env.INLET_HTTP_HOST ?? "127.0.0.1",
        // `inlet webhooks` / `inlet api-tokens` in another terminal go through its admin endpoints;
        // local receivers (http://127.0.0.1:…) may take webhooks.
        INLET_ADMIN_TOKEN: process.env.INLET_ADMIN_TOKEN || secrets.adminToken,
        INLET_ALLOW_INSECURE_WEBHOOKS: process.env.INLET_ALLOW_INSECURE_WEBHOOKS ?? "1",
        ...sandbox.consumerEnv,
      }),
      o.consumerLog,
    );
    closers.push(() => app.stop());

    const control: Server = createServer((req, res) => {
      const authorised = req.headers.authorization === `Bearer ${secrets.adminToken}`;
      if (!authorised) return void res.writeHead(401).end();
      if (req.method === "POST" && req.url === "/demo") {
        runDemo(app, sandbox, worker).then(
          (report) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(report)),
          (error: unknown) => res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) })),
        );
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve, reject) => (control.once("error", reject), control.listen(o.controlPort, "127.0.0.1", resolve)));
    closers.push(() => new Promise<void>((resolve) => (control.closeAllConnections(), control.close(() => resolve()))));

    return {
      urls: { redis: o.redisUrl, rest: bridge.url, worker, control: `http://127.0.0.1:${o.controlPort}`, sandbox: sandbox.urls, consumer: app.http?.url },
      secrets,
      stop: stopAll,
      failed: Promise.race(children.map((c) => c.exited.then((code) => `${c.name} exited (code ${code})`))),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
