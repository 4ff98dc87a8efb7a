// The built Worker in plain `workerd serve` (no wrangler proxy), with its own Redis, the
// Upstash-compatible REST bridge in front of it and a JWKS server: what the fuzz run and the
// ingress benchmark drive. Everything listens on 127.0.0.1 and everything started is stopped by
// close().
//
//   const edge = await startEdge({ entry: "bench/support/bare-entry.ts" });
//   await fetch(`${edge.url}/healthz`); edge.workerdCpuMs(); edge.redisCommands(); await edge.close();
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { gzipSync } from "node:zlib";
import { Redis } from "ioredis";
import { startJwksServer, type JwksServer } from "../../dev/fakes/jwks.ts";
import { queueKeys, type QueueKeys } from "../../src/queue/config.ts";
import { scripts } from "../../src/queue/scripts.generated.ts";
import { freePort } from "../../dev/free-port.ts";

export { freePort };

export const GOOGLE_AUDIENCE = "https://inlet.bench/webhooks/google";
export const GOOGLE_PUSH_ACCOUNT = "gmail-push@inlet-bench.iam.gserviceaccount.com";
export const IMAP_SECRET = "bench-imap-secret";
export const ADMIN_TOKEN = "bench-admin-token";
const REST_TOKEN = "bench-rest-token";
const ROOT = new URL("../../", import.meta.url).pathname;

export interface Build {
  dir: string;
  script: string;
  bytes: number;
  gzipBytes: number;
  compatibilityDate: string;
  compatibilityFlags: string[];
}

/** `wrangler deploy --dry-run --outdir`: the bundle exactly as it would be uploaded. */
export async function buildWorker(entry?: string): Promise<Build> {
  const dir = mkdtempSync(join(tmpdir(), "inlet-edge-build-"));
  await run(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", ...(entry ? [entry] : []), "--dry-run", "--outdir", dir], { cwd: ROOT });
  // wrangler names the bundle after the entry: index.js for src/index.ts, bare-entry.js for the bench's.
  const name = entry ? `${basename(entry).replace(/\.ts$/, "")}.js` : "index.js";
  const script = readFileSync(join(dir, name));
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? "2026-11-01";
  const flags = [...(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  return { dir, script: join(dir, name), bytes: script.length, gzipBytes: gzipSync(script, { level: 9 }).length, compatibilityDate: date, compatibilityFlags: flags };
}

function run(command: string, args: string[], options: { cwd: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${out.slice(-2000)}`))));
  });
}


async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

function capnpString(value: string): string {
  return JSON.stringify(value);
}

/** A workerd config serving one module with text bindings and outbound access to loopback. */
function workerdConfig(build: Build, port: number, bindings: Record<string, string>, flags: string[]): string {
  const bindingList = Object.entries(bindings).map(([name, text]) => `(name = ${capnpString(name)}, text = ${capnpString(text)})`);
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed ${capnpString(basename(build.script))}) ],
  compatibilityDate = ${capnpString(build.compatibilityDate)},
  compatibilityFlags = [${flags.map(capnpString).join(", ")}],
  bindings = [${bindingList.join(", ")}],
);
`;
}

export interface WorkerdProcess {
  url: string;
  process: ChildProcess;
  /** ms from spawn to the first answer of GET /healthz. */
  coldStartMs: number;
  /** Lines workerd printed (warnings, e.g. about compatibility flags). */
  output: string[];
  cpuMs(): number;
  rssBytes(): number;
  stop(): Promise<void>;
}

const CLK_TCK = 100;
function procStat(pid: number): { cpuMs: number; rssBytes: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuMs: (ticks * 1000) / CLK_TCK, rssBytes: rssPages * 4096 };
  } catch {
    return { cpuMs: 0, rssBytes: 0 };
  }
}

export async function startWorkerd(build: Build, bindings: Record<string, string>, options: { flags?: string[]; port?: number; inspectorPort?: number } = {}): Promise<WorkerdProcess> {
  const port = options.port ?? (await freePort());
  const config = join(build.dir, `config-${port}.capnp`);
  writeFileSync(config, workerdConfig(build, port, bindings, options.flags ?? build.compatibilityFlags));
  const started = performance.now();
  const inspector = options.inspectorPort ? [`--inspector-addr=127.0.0.1:${options.inspectorPort}`] : [];
  const child = spawn(join(ROOT, "node_modules/.bin/workerd"), ["serve", config, ...inspector], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on("line", (line) => output.length < 200 && output.push(line));
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on("exit", () => ((exited = true), resolve())));
  await waitFor(async () => exited || (await fetch(`${url}/healthz`)).ok, 20_000, "workerd").catch((error: Error) => {
    child.kill("SIGKILL");
    throw new Error(`${error.message}:\n${output.join("\n")}`);
  });
  if (exited) throw new Error(`workerd exited:\n${output.join("\n")}`);
  const coldStartMs = performance.now() - started;
  return {
    url,
    process: child,
    coldStartMs,
    output,
    cpuMs: () => procStat(child.pid!).cpuMs,
    rssBytes: () => procStat(child.pid!).rssBytes,
    async stop() {
      if (exited) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exit;
      clearTimeout(timer);
    },
  };
}

export interface Edge {
  build: Build;
  workerd: WorkerdProcess;
  url: string;
  keys: QueueKeys;
  prefix: string;
  /** A connection to the edge's own Redis. */
  redis: Redis;
  jwks: JwksServer;
  /** The bindings the Worker was started with (to start more workerds like it). */
  bindings: Record<string, string>;
  /** Script calls (EVALSHA + EVAL) Redis has run, and every command (those inside scripts too). */
  redisCommands(): Promise<{ calls: number; commands: number }>;
  close(): Promise<void>;
}

/** Reads INFO commandstats: `calls` are the client's script calls (one per REST round trip). */
export async function commandStats(redis: Redis): Promise<{ calls: number; commands: number }> {
  const info = await redis.info("commandstats");
  let calls = 0;
  let commands = 0;
  for (const match of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    const name = match[1]!;
    const n = Number(match[2]);
    if (name === "info") continue;
    commands += n;
    if (name === "evalsha" || name === "eval") calls += n;
  }
  return { calls, commands };
}

export async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "inlet-edge-redis-"));
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => undefined);
  await waitFor(async () => {
    await probe.connect().catch(() => undefined);
    return (await probe.ping()) === "PONG";
  }, 10_000, "redis-server");
  probe.disconnect();
  return {
    url,
    async stop() {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startBridge(redisUrl: string): Promise<{ url: string; process: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [join(ROOT, "dev/rest-bridge-main.ts")], {
    env: { ...process.env, REDIS_URL: redisUrl, INLET_REST_TOKEN: REST_TOKEN, INLET_REST_PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => line.startsWith("listening ") && resolve(line.slice(10)));
    child.once("exit", (code) => reject(new Error(`REST bridge exited (${code})`)));
  });
  return {
    url,
    process: child,
    stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.kill("SIGTERM")))),
  };
}

export interface EdgeOptions {
  /** A Worker entry other than wrangler.toml's `main` (the benchmark's bare routes). */
  entry?: string;
  build?: Build;
  flags?: string[];
  /** Extra or overriding bindings. */
  bindings?: Record<string, string>;
}

export async function startEdge(options: EdgeOptions = {}): Promise<Edge> {
  const redisServer = await startRedis();
  const stops: (() => Promise<void>)[] = [redisServer.stop];
  try {
    const bridge = await startBridge(redisServer.url);
    stops.unshift(bridge.stop);
    const jwks = await startJwksServer();
    stops.unshift(jwks.close);
    const build = options.build ?? (await buildWorker(options.entry));
    const prefix = "bench:edge:";
    const bindings: Record<string, string> = {
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: REST_TOKEN,
      INLET_ADMIN_TOKEN: ADMIN_TOKEN,
      IMAP_WEBHOOK_SECRET: IMAP_SECRET,
      GOOGLE_JWKS_URL: jwks.url,
      GOOGLE_PUBSUB_AUDIENCE: GOOGLE_AUDIENCE,
      GOOGLE_PUBSUB_SERVICE_ACCOUNTS: GOOGLE_PUSH_ACCOUNT,
      MICROSOFT_APP_ID: "",
      MICROSOFT_JWKS_URL: jwks.url,
      UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: prefix,
      ...options.bindings,
    };
    const workerd = await startWorkerd(build, bindings, { flags: options.flags });
    stops.unshift(workerd.stop);
    const redis = new Redis(redisServer.url);
    stops.unshift(async () => redis.disconnect());
    // Scripts are loaded once in production too; a first EVALSHA would otherwise count twice.
    for (const script of Object.values(scripts)) await redis.script("LOAD", script.source);
    return {
      build,
      workerd,
      url: workerd.url,
      keys: queueKeys(prefix),
      prefix,
      redis,
      jwks,
      bindings,
      redisCommands: () => commandStats(redis),
      async close() {
        for (const stop of stops) await stop().catch(() => undefined);
        if (!options.build) rmSync(build.dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const stop of stops) await stop().catch(() => undefined);
    throw error;
  }
}
