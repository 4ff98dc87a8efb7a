// `inlet dev` / `npm start`: the whole stack on one machine, on embedded defaults.
//   Redis            REDIS_URL (default 127.0.0.1:6379), started if nothing answers and redis-server is installed
//   REST endpoint    Upstash-compatible, 127.0.0.1:8079, in front of that Redis
//   provider sandbox local Graph, Gmail, OAuth and JWKS servers (unless INLET_SANDBOX=0)
//   Worker           wrangler dev on 127.0.0.1:8787 against the REST endpoint
//   consumer         `inlet consumer` on embedded PGlite (./.inlet/pglite) unless DATABASE_URL is set
// One log stream, tagged by source. Ctrl-C stops all of it.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startRestBridge, type RestBridge } from "./rest-bridge.ts";
import { answers, startChild, waitUntil, type Child, type LogLine } from "./processes.ts";
import { loadDevSecrets, type DevSecrets } from "./secrets.ts";
import { startSandbox, type Sandbox } from "./sandbox.ts";
import { DEFAULT_REDIS_URL } from "../runtime/queue-connection.ts";

export interface DevStackOptions {
  root: string;
  dataDir: string;
  redisUrl: string;
  restPort: number;
  workerPort: number;
  sandbox: boolean;
  consumer: boolean;
  log: LogLine;
}

export interface DevStack {
  urls: { redis: string; rest: string; worker: string; sandbox?: Sandbox["urls"] };
  secrets: DevSecrets;
  /** The environment the consumer runs with (also what `inlet demo` and the CLI need). */
  consumerEnv: Record<string, string>;
  stop(): Promise<void>;
  /** Resolves when any child exits on its own (the stack is then broken). */
  failed: Promise<string>;
}

export function devStackOptions(env: NodeJS.ProcessEnv, root: string, log: LogLine): DevStackOptions {
  return {
    root,
    dataDir: join(root, ".inlet"),
    redisUrl: env.REDIS_URL ?? DEFAULT_REDIS_URL,
    restPort: Number(env.INLET_REST_PORT ?? 8079),
    workerPort: Number(env.INLET_WORKER_PORT ?? 8787),
    sandbox: env.INLET_SANDBOX !== "0",
    consumer: env.INLET_DEV_CONSUMER !== "0",
    log,
  };
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const { log } = options;
  const children: Child[] = [];
  const closers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const child of [...children].reverse()) await child.stop();
    for (const close of closers.reverse()) await close();
  };
  try {
    const secrets = loadDevSecrets(options.dataDir);
    const redisUrl = new URL(options.redisUrl);
    const redisPort = Number(redisUrl.port || 6379);
    if (!(await answers(redisPort, redisUrl.hostname))) {
      const redis = startChild("redis", "redis-server", ["--port", String(redisPort), "--bind", redisUrl.hostname, "--save", "", "--appendonly", "no"], { log });
      children.push(redis);
      const started = await Promise.race([waitUntil(() => answers(redisPort, redisUrl.hostname), 10_000, "redis-server").then(() => true), redis.exited.then(() => false)]);
      if (!started) {
        throw new Error(`nothing answers at ${options.redisUrl} and redis-server could not be started: install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL`);
      }
    }

    const bridge: RestBridge = await startRestBridge({ redisUrl: options.redisUrl, token: secrets.restToken, port: options.restPort });
    closers.push(() => bridge.close());

    let sandbox: Sandbox | undefined;
    if (options.sandbox) {
      sandbox = await startSandbox();
      closers.push(() => sandbox!.close());
    }

    const worker = `http://127.0.0.1:${options.workerPort}`;
    const workerVars: Record<string, string> = {
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: secrets.restToken,
      INLET_ADMIN_TOKEN: secrets.adminToken,
      IMAP_WEBHOOK_SECRET: secrets.imapWebhookSecret,
      ...(sandbox?.workerVars ?? {}),
    };
    const wrangler = join(options.root, "node_modules", ".bin", "wrangler");
    if (!existsSync(wrangler)) throw new Error("wrangler is not installed: run npm install");
    const workerChild = startChild(
      "worker",
      wrangler,
      ["dev", "--ip", "127.0.0.1", "--port", String(options.workerPort), "--test-scheduled", "--show-interactive-dev-session=false", "--log-level", "warn", ...Object.entries(workerVars).flatMap(([k, v]) => ["--var", `${k}:${v}`])],
      { log, env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" } },
    );
    children.push(workerChild);
    await Promise.race([
      waitUntil(async () => (await fetch(`${worker}/healthz`).catch(() => undefined))?.ok === true, 60_000, "wrangler dev"),
      workerChild.exited.then(() => Promise.reject(new Error("wrangler dev exited during start (see [worker] lines above)"))),
    ]);

    const consumerEnv: Record<string, string> = {
      REDIS_URL: options.redisUrl,
      INGRESS_URL: worker,
      IMAP_WEBHOOK_SECRET: secrets.imapWebhookSecret,
      INLET_ADMIN_TOKEN: secrets.adminToken,
      INLET_DATA_DIR: options.dataDir,
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      ...(sandbox?.consumerEnv ?? {}),
    };
    const consumerChild = options.consumer
      ? startChild("consumer", process.execPath, [join(options.root, "consumer", "cli", "main.ts"), "consumer"], { log, env: { ...process.env, ...consumerEnv } })
      : undefined;
    if (consumerChild) children.push(consumerChild);

    const failed = Promise.race(children.map((c) => c.exited.then((code) => `${c.name} exited (code ${code})`)));
    return {
      urls: { redis: options.redisUrl, rest: bridge.url, worker, ...(sandbox ? { sandbox: sandbox.urls } : {}) },
      secrets,
      consumerEnv,
      stop: stopAll,
      failed,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
