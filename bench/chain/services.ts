// The processes of the chain that the chaos run restarts: a Redis of its own (append-only on), a
// PostgreSQL cluster of its own (initdb/pg_ctl), the Upstash-compatible REST endpoint, and the
// consumer as a process group. Each listens on a loopback port chosen at start and kept across
// restarts, so the others find it again.
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { Redis } from "ioredis";
import { startProcess, sleep, waitFor, type RunningChild } from "./child.ts";
import { freePort } from "../../dev/free-port.ts";

export { freePort };

const run = promisify(execFile);


/** Children find the Node 22 this harness runs on first on PATH (wrangler refuses older ones). */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`, ...extra };
}

// ---- Redis ----

export interface OwnRedis {
  url: string;
  port: number;
  /** SIGKILL (no shutdown save: what survives is what the append-only file holds), then start again after `downMs`. */
  crashAndRestart(downMs: number): Promise<void>;
  pid(): number | undefined;
  stop(): Promise<void>;
}

export async function startOwnRedis(dir: string): Promise<OwnRedis> {
  const port = await freePort();
  const data = join(dir, "redis");
  mkdirSync(data, { recursive: true });
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", data, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no", "--logfile", ""];
  let child: RunningChild | undefined;
  const start = async () => {
    child = startProcess("redis", "redis-server", args, { env: childEnv(), logFile: join(dir, "redis.log") });
    const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => undefined);
    try {
      // Loading the append-only file answers -LOADING until done.
      await waitFor(async () => {
        if (probe.status !== "ready") await probe.connect().catch(() => undefined);
        return (await probe.ping().catch(() => "")) === "PONG";
      }, 60_000, `redis-server on port ${port}`);
    } finally {
      probe.disconnect();
    }
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => child?.pid,
    async crashAndRestart(downMs) {
      await child?.kill();
      await sleep(downMs);
      await start();
    },
    async stop() {
      await child?.stop();
    },
  };
}

// ---- PostgreSQL ----

export interface OwnPostgres {
  url: string;
  port: number;
  /** `pg_ctl stop -m fast` (sessions end with 57P01), down for `downMs`, then start. */
  restart(downMs: number): Promise<void>;
  /** The postmaster (every backend is its child). */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/** The newest PostgreSQL server binaries installed (Debian layout), or INLET_PG_BIN. */
function postgresBin(): string {
  if (process.env.INLET_PG_BIN) return process.env.INLET_PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions[0]) throw new Error("PostgreSQL server binaries not found: install postgresql (Debian) or set INLET_PG_BIN to the folder holding initdb and pg_ctl");
  return join(root, versions[0], "bin");
}

export async function startOwnPostgres(dir: string): Promise<OwnPostgres> {
  const bin = postgresBin();
  const port = await freePort();
  const base = join(dir, "postgres");
  const data = join(base, "data");
  mkdirSync(data, { recursive: true });
  // initdb refuses to run as root: the cluster belongs to the postgres user then.
  const asRoot = process.getuid?.() === 0;
  const pgUser = asRoot ? await run("id", ["-u", "postgres"]).then((r) => Number(r.stdout.trim())) : undefined;
  if (pgUser !== undefined) {
    chownSync(base, pgUser, pgUser);
    chownSync(data, pgUser, pgUser);
  }
  const as = (command: string, args: string[]) => (asRoot ? run("runuser", ["-u", "postgres", "--", command, ...args]) : run(command, args));
  await as(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"]);
  const options = `-p ${port} -k ${base} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const log = join(base, "postgres.log");
  const start = () => as(join(bin, "pg_ctl"), ["-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"]);
  const stopServer = (mode: "fast" | "immediate") => as(join(bin, "pg_ctl"), ["-D", data, "-w", "-t", "60", "-m", mode, "stop"]).catch(() => undefined);
  await start();
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query("CREATE DATABASE inlet");
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/inlet`,
    port,
    pid() {
      try {
        return Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      } catch {
        return undefined;
      }
    },
    async restart(downMs) {
      await stopServer("fast");
      await sleep(downMs);
      await start();
    },
    async stop() {
      await stopServer("fast");
    },
  };
}

// ---- the REST endpoint ----

export interface OwnRestBridge {
  url: string;
  token: string;
  crashAndRestart(downMs: number): Promise<void>;
  pid(): number | undefined;
  stop(): Promise<void>;
}

export async function startOwnRestBridge(o: { root: string; dir: string; redisUrl: string; token: string }): Promise<OwnRestBridge> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: RunningChild | undefined;
  const start = async () => {
    child = startProcess("rest", process.execPath, [join(o.root, "dev", "rest-bridge-main.ts")], {
      env: childEnv({ REDIS_URL: o.redisUrl, INLET_REST_TOKEN: o.token, INLET_REST_PORT: String(port) }),
      cwd: o.root,
      logFile: join(o.dir, "rest.log"),
    });
    await waitFor(async () => (await fetch(`${url}/healthz`)).ok, 30_000, "the REST endpoint");
  };
  await start();
  return {
    url,
    token: o.token,
    pid: () => child?.pid,
    async crashAndRestart(downMs) {
      await child?.kill();
      await sleep(downMs);
      await start();
    },
    async stop() {
      await child?.stop();
    },
  };
}
