// Queue benchmark: Inlet's pointer queue (tenant lanes) against the single-list queue it
// replaced (bench/baseline-queue/, frozen) and BullMQ on the same Redis, side by side in one
// run, same job count, same concurrency, no-op handler. Reports jobs/s end to end (enqueue →
// claim → ack, producer and consumers running together) and processing only (queue filled
// first), Redis commands per job (sent by clients / executed inside Redis, from MONITOR), and
// the commands an idle consumer issues. Each throughput row is measured in interleaved rounds
// (every system once per round, in a rotating order), so a slow spell of a shared machine hits
// every system alike: a cell is the median round, and every round is kept. Writes
// bench/results/queue.json and queue.md; a filtered run (--only, --throughput-only) writes nothing.
// Each system keeps to its own keys (a prefix in its own database index): nothing is flushed.
//   node bench/queue.ts [--jobs 10000] [--rest-jobs 3000] [--rounds 3] [--idle-seconds 65] [--throughput-only] [--only 'concurrency 8']
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { queueKeys, queueSettings, type QueueSettings } from "../src/queue/config.ts";
import { PointerQueue } from "../src/queue/queue.ts";
import { PointerQueue as BaselineQueue } from "./baseline-queue/queue.ts";
import { BASELINE_COMMIT } from "./baseline-queue/commit.ts";
import { createUpstashRedis, UpstashScriptClient } from "../src/queue/upstash.ts";
import { createTcpRedis, TcpScriptClient, WakeListener } from "../consumer/redis/tcp-client.ts";
import { startRestBridge, type RestBridge } from "../dev/rest-bridge.ts";
import { Consumer } from "../consumer/runtime/consumer.ts";
import { createLogger } from "../consumer/runtime/log.ts";
import type { NewJob } from "../src/queue/job.ts";
import { CommandMonitor } from "./support/monitor.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg("jobs", 10_000);
const REST_JOBS = Math.min(JOBS, arg("rest-jobs", 3_000));
const COUNT_JOBS = 2_000;
const ROUNDS = Math.max(1, Math.floor(arg("rounds", 3)));
const IDLE_SECONDS = Math.max(65, arg("idle-seconds", 65));
const REDIS = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
// Each system gets its own database index, so MONITOR can tell their commands apart.
const DB = { inletTcp: 11, inletRest: 12, bullmq: 13, baselineTcp: 14 } as const;
const dbUrl = (db: number) => `${REDIS.replace(/\/\d*$/, "")}/${db}`;
const PRODUCER_WINDOW = 64; // enqueues in flight at once, for every system
const log = createLogger({ level: "warn" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const BULLMQ_VERSION = (createRequire(import.meta.url)("bullmq/package.json") as { version: string }).version;

/** How many tenants the jobs of the shape being measured come from, in turn (one unless a shape says). */
let tenants = 1;
const job = (i: number): NewJob => ({ provider: "imap", tenantId: tenants === 1 ? "tenant-bench" : `tenant-${i % tenants}`, providerId: "provider-bench", pointer: { mailbox: "INBOX", uidValidity: "1", uid: i + 1 } });

async function produce(count: number, add: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: PRODUCER_WINDOW }, async () => {
    while (next < count) await add(next++);
  }));
}

async function waitFor(check: () => boolean) {
  while (!check()) await sleep(1);
}

interface System {
  name: string;
  db: number;
  /** Start `workers` consumers of `concurrency` each; returns a completion counter and a stop. */
  /** `prefetch` applies to Inlet only (BullMQ has none); undefined keeps Inlet's default. */
  consume(workers: number, concurrency: number, prefetch?: number): Promise<{ done: () => number; stop: () => Promise<void> }>;
  add(i: number): Promise<unknown>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Delete every key under `pattern` in one database (the benchmark never flushes one). */
async function deleteKeys(redis: Redis, pattern: string) {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
}

/** `baseline`: the single-list queue before tenant lanes, with the same surface. */
function inletSystem(name: string, db: number, transport: "tcp" | "rest", bridge?: RestBridge, baseline = false): System {
  const settings: QueueSettings = { ...queueSettings({}), keys: queueKeys("bench:inlet:") };
  const closers: (() => void)[] = [];
  const makeQueue = (): PointerQueue => {
    const client = transport === "tcp" ? new TcpScriptClient(createTcpRedis(dbUrl(db))) : new UpstashScriptClient(createUpstashRedis({ url: bridge!.url, token: "bench" }));
    if (client instanceof TcpScriptClient) closers.push(() => client.redis.disconnect());
    // The baseline has the same surface; its private fields make TypeScript call it another class.
    return baseline ? (new BaselineQueue(client, settings) as unknown as PointerQueue) : new PointerQueue(client, settings);
  };
  const producer = makeQueue();
  const admin = new Redis(dbUrl(db));
  return {
    name,
    db,
    async consume(workers, concurrency, prefetch) {
      const consumers = Array.from({ length: workers }, () => {
        const wake = transport === "tcp" ? new WakeListener(dbUrl(db), settings.keys.wake) : undefined;
        return new Consumer({ queue: makeQueue(), log, concurrency, ...(prefetch === undefined ? {} : { prefetch }), handler: async () => ({ outcome: "processed", messages: [] }), ...(wake ? { wake } : {}) });
      });
      consumers.forEach((c) => c.start());
      return { done: () => consumers.reduce((n, c) => n + c.counters.acked, 0), stop: async () => void (await Promise.all(consumers.map((c) => c.stop()))) };
    },
    add: (i) => producer.enqueue([{ job: job(i) }]),
    flush: () => deleteKeys(admin, "bench:inlet:*"),
    close: async () => {
      closers.forEach((c) => c());
      admin.disconnect();
    },
  };
}

function bullmqSystem(db: number): System {
  // The same server as every other system here (REDIS_URL), in its own database.
  const server = new URL(REDIS);
  const connection = { host: server.hostname, port: Number(server.port || 6379), ...(server.password ? { password: decodeURIComponent(server.password) } : {}), db, maxRetriesPerRequest: null };
  const queue = new Queue("bench", { connection, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
  const admin = new Redis(dbUrl(db));
  return {
    name: `BullMQ ${BULLMQ_VERSION} (TCP)`,
    db,
    async consume(workers, concurrency) {
      let completed = 0;
      const list = Array.from({ length: workers }, () => {
        const worker = new Worker("bench", async () => undefined, { connection, concurrency });
        worker.on("completed", () => completed++);
        return worker;
      });
      await Promise.all(list.map((w) => w.waitUntilReady()));
      return { done: () => completed, stop: async () => void (await Promise.all(list.map((w) => w.close()))) };
    },
    add: (i) => queue.add("pointer", job(i)),
    flush: () => deleteKeys(admin, "bull:bench:*"),
    close: async () => {
      await queue.close();
      admin.disconnect();
    },
  };
}

async function endToEnd(system: System, jobs: number, workers: number, concurrency: number, prefetch?: number) {
  await system.flush();
  const consumers = await system.consume(workers, concurrency, prefetch);
  const started = performance.now();
  await produce(jobs, system.add);
  await waitFor(() => consumers.done() >= jobs);
  const seconds = (performance.now() - started) / 1000;
  await consumers.stop();
  return Math.round(jobs / seconds);
}

async function processingOnly(system: System, jobs: number, workers: number, concurrency: number, prefetch?: number) {
  await system.flush();
  await produce(jobs, system.add);
  const started = performance.now();
  const consumers = await system.consume(workers, concurrency, prefetch);
  await waitFor(() => consumers.done() >= jobs);
  const seconds = (performance.now() - started) / 1000;
  await consumers.stop();
  return Math.round(jobs / seconds);
}

interface Rate {
  endToEnd: number;
  processingOnly: number;
}

/** A row's rates for one system: the median round, and every round in the order run. */
interface Measured extends Rate {
  rounds: Rate[];
}

/** Inlet against BullMQ, and against the single-list queue before tenant lanes, in one row:
 * the medians of the rounds' ratios, and each round's. */
interface Ratios {
  tcpEndToEnd: number;
  tcpProcessingOnly: number;
  restEndToEnd: number;
  vsBaselineEndToEnd: number;
  vsBaselineProcessingOnly: number;
  rounds: Omit<Ratios, "rounds">[];
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const ratio = (a: number, b: number) => +(a / b).toFixed(2);

function measured(rounds: Rate[]): Measured {
  return { endToEnd: Math.round(median(rounds.map((r) => r.endToEnd))), processingOnly: Math.round(median(rounds.map((r) => r.processingOnly))), rounds };
}

function ratios(row: Record<string, Measured>): Ratios {
  const rounds = row.bullmq!.rounds.map((bull, i) => ({
    tcpEndToEnd: ratio(row.inletTcp!.rounds[i]!.endToEnd, bull.endToEnd),
    tcpProcessingOnly: ratio(row.inletTcp!.rounds[i]!.processingOnly, bull.processingOnly),
    restEndToEnd: ratio(row.inletRest!.rounds[i]!.endToEnd, bull.endToEnd),
    vsBaselineEndToEnd: ratio(row.inletTcp!.rounds[i]!.endToEnd, row.baselineTcp!.rounds[i]!.endToEnd),
    vsBaselineProcessingOnly: ratio(row.inletTcp!.rounds[i]!.processingOnly, row.baselineTcp!.rounds[i]!.processingOnly),
  }));
  const mid = (pick: (r: Omit<Ratios, "rounds">) => number) => +median(rounds.map(pick)).toFixed(2);
  return {
    tcpEndToEnd: mid((r) => r.tcpEndToEnd),
    tcpProcessingOnly: mid((r) => r.tcpProcessingOnly),
    restEndToEnd: mid((r) => r.restEndToEnd),
    vsBaselineEndToEnd: mid((r) => r.vsBaselineEndToEnd),
    vsBaselineProcessingOnly: mid((r) => r.vsBaselineProcessingOnly),
    rounds,
  };
}

/** The Redis the benchmark runs on, as the server reports itself. */
async function redisServer(url: string): Promise<{ version: string; mode: string; os: string }> {
  const redis = new Redis(url);
  try {
    const info = await redis.info("server");
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim() ?? "unknown";
    return { version: field("redis_version"), mode: field("redis_mode"), os: field("os") };
  } finally {
    redis.disconnect();
  }
}

async function main() {
  const redis = await redisServer(REDIS);
  console.log(`Redis ${redis.version} (${redis.mode}, ${redis.os}), Node ${process.version}, BullMQ ${BULLMQ_VERSION}, ${ROUNDS} rounds per row`);
  const bridge = await startRestBridge({ redisUrl: dbUrl(DB.inletRest), token: "bench" });
  const systems = {
    inletTcp: inletSystem("Inlet (Redis TCP)", DB.inletTcp, "tcp"),
    inletRest: inletSystem("Inlet (Upstash REST bridge)", DB.inletRest, "rest", bridge),
    baselineTcp: inletSystem("Inlet single list, before (TCP)", DB.baselineTcp, "tcp", undefined, true),
    bullmq: bullmqSystem(DB.bullmq),
  };
  // Inlet consumers prefetch by default (up to 64 jobs ahead, as many as the jobs' running time
  // calls for: all 64 for a no-op handler); the last shape turns that off, to show what it is worth.
  // [label, consumers, concurrency, Inlet prefetch (undefined: the default), tenants (default 1)]
  const shapes: [string, number, number, number?, number?][] = [
    ["1 consumer, concurrency 1", 1, 1],
    ["1 consumer, concurrency 8", 1, 8],
    ["8 consumers, concurrency 1 each", 8, 1],
    ["1 consumer, concurrency 1, Inlet prefetch off", 1, 1, 0],
    // Every job from another of 100 tenants: the rotation turns on every job.
    ["8 consumers, concurrency 1 each, 100 tenants", 8, 1, undefined, 100],
  ];
  const throughput: Record<string, Record<string, Measured>> = {};
  const ratiosVsBullmq: Record<string, Ratios> = {};
  const filtered = process.argv.includes("--only");
  const only = filtered ? (process.argv[process.argv.indexOf("--only") + 1] ?? "") : "";
  const entries = Object.entries(systems);
  for (const [label, workers, concurrency, prefetch, shapeTenants] of shapes) {
    if (!label.includes(only)) continue;
    tenants = shapeTenants ?? 1;
    const jobsFor = (key: string) => (key === "inletRest" ? REST_JOBS : JOBS);
    for (const [key, system] of entries) await endToEnd(system, Math.min(jobsFor(key), 1000), workers, concurrency, prefetch); // warm up: scripts loaded, JIT hot
    const rounds: Record<string, Rate[]> = {};
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate who goes first, so no system always runs on the heels of the same other one; the
      // fair queue and the single list it replaced always run back to back (which of them first
      // alternates), so their ratio compares two runs under the same load of a shared machine.
      const pair = round % 2 === 0 ? ["inletTcp", "baselineTcp"] : ["baselineTcp", "inletTcp"];
      const units = [pair, ["inletRest"], ["bullmq"]];
      const order = units.map((_, i) => units[(i + round) % units.length]!).flat();
      for (const [key, system] of order.map((k) => [k, systems[k as keyof typeof systems]] as const)) {
        const jobs = jobsFor(key);
        const e2e = await endToEnd(system, jobs, workers, concurrency, prefetch);
        const proc = await processingOnly(system, jobs, workers, concurrency, prefetch);
        (rounds[key] ??= []).push({ endToEnd: e2e, processingOnly: proc });
        console.log(`${label.padEnd(46)} round ${round + 1} ${system.name.padEnd(30)} e2e ${String(e2e).padStart(6)} jobs/s   processing ${String(proc).padStart(6)} jobs/s`);
      }
    }
    const row = Object.fromEntries(entries.map(([key]) => [key, measured(rounds[key]!)]));
    throughput[label] = row;
    ratiosVsBullmq[label] = ratios(row);
    for (const [key, system] of entries) {
      const m = row[key]!;
      console.log(`${label.padEnd(46)} median  ${system.name.padEnd(30)} e2e ${String(m.endToEnd).padStart(6)} jobs/s   processing ${String(m.processingOnly).padStart(6)} jobs/s`);
    }
    const r = ratiosVsBullmq[label]!;
    console.log(`${label.padEnd(46)} Inlet TCP / BullMQ: e2e ${r.tcpEndToEnd}× (${r.rounds.map((x) => x.tcpEndToEnd).join(", ")}), processing ${r.tcpProcessingOnly}× (${r.rounds.map((x) => x.tcpProcessingOnly).join(", ")})`);
    console.log(`${label.padEnd(46)} Inlet TCP / single list before: e2e ${r.vsBaselineEndToEnd}× (${r.rounds.map((x) => x.vsBaselineEndToEnd).join(", ")}), processing ${r.vsBaselineProcessingOnly}× (${r.rounds.map((x) => x.vsBaselineProcessingOnly).join(", ")})`);
  }

  tenants = 1;

  // A quick or partial comparison: the committed results stay as they are.
  if (filtered || process.argv.includes("--throughput-only")) {
    for (const system of Object.values(systems)) {
      await system.flush();
      await system.close();
    }
    await bridge.close();
    process.exit(0);
  }

  // Commands per job under load, counted with MONITOR in a separate pass (it slows Redis down).
  const monitor = new CommandMonitor(REDIS);
  await monitor.start();
  const commands: Record<string, Record<string, { clientSentPerJob: number; executedPerJob: number; byCommand: Record<string, number> }>> = {};
  for (const [label, concurrency] of [["concurrency 1", 1], ["concurrency 8", 8]] as const) {
    commands[label] = {};
    for (const [key, system] of Object.entries(systems)) {
      await system.flush();
      const consumers = await system.consume(1, concurrency);
      await sleep(200);
      monitor.reset();
      await produce(COUNT_JOBS, system.add);
      await waitFor(() => consumers.done() >= COUNT_JOBS);
      await sleep(100);
      const c = monitor.counts(system.db);
      await consumers.stop();
      const perJob = (n: number) => +(n / COUNT_JOBS).toFixed(2);
      commands[label][key] = {
        clientSentPerJob: perJob(c.clientSent),
        executedPerJob: perJob(c.clientSent + c.insideScripts),
        byCommand: Object.fromEntries(Object.entries(c.byCommand).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, perJob(v)])),
      };
      console.log(`${label} ${system.name.padEnd(30)} commands/job: sent ${perJob(c.clientSent)}, executed ${perJob(c.clientSent + c.insideScripts)}`);
    }
  }

  // Idle cost: one waiting consumer of each kind, side by side, for IDLE_SECONDS.
  for (const system of Object.values(systems)) await system.flush();
  const idle = await Promise.all(Object.values(systems).map((s) => s.consume(1, 1)));
  await sleep(1000);
  monitor.reset();
  const idleStart = performance.now();
  // The idle wait grows 1, 2, 4, 8, 16 s, then stays at 30 s: steady state starts after ~31 s,
  // so it is measured from 35 s to the end (several 30 s cycles with the default 125 s).
  const STEADY_FROM = 35;
  await sleep(STEADY_FROM * 1000);
  const atSteady: Record<string, number> = {};
  for (const [key, system] of Object.entries(systems)) atSteady[key] = monitor.counts(system.db).clientSent;
  await sleep((60 - STEADY_FROM) * 1000);
  const firstMinute: Record<string, number> = {};
  for (const [key, system] of Object.entries(systems)) firstMinute[key] = monitor.counts(system.db).clientSent;
  await sleep(Math.max(0, IDLE_SECONDS - 60) * 1000);
  const idleSeconds = (performance.now() - idleStart) / 1000;
  const idleCost: Record<string, { firstMinute: number; steadyPerMinute: number; perHour: number }> = {};
  for (const [key, system] of Object.entries(systems)) {
    const steady = ((monitor.counts(system.db).clientSent - atSteady[key]!) / (idleSeconds - STEADY_FROM)) * 60;
    idleCost[key] = { firstMinute: firstMinute[key]!, steadyPerMinute: +steady.toFixed(1), perHour: Math.round(steady * 60) };
    console.log(`${system.name.padEnd(30)} idle: ${firstMinute[key]} commands in the first minute, ${steady.toFixed(1)}/min steady`);
  }
  await Promise.all(idle.map((c) => c.stop()));
  monitor.stop();
  for (const system of Object.values(systems)) {
    await system.flush();
    await system.close();
  }
  await bridge.close();

  const result: Result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    redis,
    bullmq: BULLMQ_VERSION,
    baselineCommit: BASELINE_COMMIT,
    jobs: { tcpAndBullmq: JOBS, rest: REST_JOBS, commandCount: COUNT_JOBS },
    rounds: ROUNDS,
    throughput,
    ratiosVsBullmq,
    commandsPerJob: commands,
    idleCommands: { seconds: +idleSeconds.toFixed(0), ...idleCost },
  };
  writeFileSync("bench/results/queue.json", `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync("bench/results/queue.md", markdown(result));
  console.log("wrote bench/results/queue.json and bench/results/queue.md");
  process.exit(0);
}

interface Result {
  date: string;
  machine: { cpus: number; cpu: string | undefined; node: string };
  redis: { version: string; mode: string; os: string };
  bullmq: string;
  baselineCommit: string;
  jobs: { tcpAndBullmq: number; rest: number; commandCount: number };
  rounds: number;
  throughput: Record<string, Record<string, Measured>>;
  ratiosVsBullmq: Record<string, Ratios>;
  commandsPerJob: Record<string, Record<string, { clientSentPerJob: number; executedPerJob: number }>>;
  idleCommands: Record<string, unknown>;
}

function markdown(r: Result): string {
  /** The median, then every round in the order run. */
  const cell = (m: Measured, pick: (rate: Rate) => number) => `${pick(m)} (${m.rounds.map(pick).join(", ")})`;
  const ratioCell = (x: Ratios, pick: (ratios: Omit<Ratios, "rounds">) => number, bold = false) => `${bold ? "**" : ""}${pick(x)}×${bold ? "**" : ""} (${x.rounds.map(pick).join(", ")})`;
  const e2e = (rate: Rate) => rate.endToEnd;
  const proc = (rate: Rate) => rate.processingOnly;
  const rows = Object.entries(r.throughput).map(([label, row]) => {
    const x = r.ratiosVsBullmq[label]!;
    return `| ${label} | ${cell(row.inletTcp!, e2e)} | ${cell(row.inletRest!, e2e)} | ${cell(row.bullmq!, e2e)} | ${ratioCell(x, (q) => q.tcpEndToEnd, true)} | ${cell(row.inletTcp!, proc)} | ${cell(row.bullmq!, proc)} | ${ratioCell(x, (q) => q.tcpProcessingOnly)} |`;
  });
  const baselineRows = Object.entries(r.throughput).map(([label, row]) => {
    const x = r.ratiosVsBullmq[label]!;
    return `| ${label} | ${cell(row.inletTcp!, e2e)} | ${cell(row.baselineTcp!, e2e)} | ${ratioCell(x, (q) => q.vsBaselineEndToEnd, true)} | ${cell(row.inletTcp!, proc)} | ${cell(row.baselineTcp!, proc)} | ${ratioCell(x, (q) => q.vsBaselineProcessingOnly, true)} |`;
  });
  const idle = r.idleCommands as Record<string, { firstMinute: number; steadyPerMinute: number; perHour: number }>;
  const names: Record<string, string> = { inletTcp: "Inlet, Redis TCP", inletRest: "Inlet, Upstash REST", baselineTcp: "Inlet single list (before), Redis TCP", bullmq: `BullMQ ${r.bullmq}` };
  const c1 = r.commandsPerJob["concurrency 1"] ?? {};
  const c8 = r.commandsPerJob["concurrency 8"] ?? {};
  const cmdRows = Object.keys(names).map((k) => `| ${names[k]} | ${c1[k]?.clientSentPerJob} / ${c1[k]?.executedPerJob} | ${c8[k]?.clientSentPerJob} / ${c8[k]?.executedPerJob} | ${idle[k]?.firstMinute} | ${idle[k]?.steadyPerMinute} | ${idle[k]?.perHour} |`);
  return [
    "# Queue benchmark",
    "",
    `${r.date}, ${r.machine.cpus} × ${r.machine.cpu}, Node ${r.machine.node}, one Redis ${r.redis.version} (${r.redis.mode}) on loopback, everything in one Node process. Produced by \`npm run bench:queue\`.`,
    `No-op handler; ${r.jobs.tcpAndBullmq} jobs per run for Inlet TCP and BullMQ ${r.bullmq} (${r.jobs.rest} over REST); producer keeps ${PRODUCER_WINDOW} enqueues in flight; BullMQ with removeOnComplete.`,
    "Inlet consumers claim ahead of their free slots as many jobs as two claim round trips take to run (up to 64; with a no-op handler, all 64), carry their acks in the next claim (one script call per batch), and with concurrency above 1 keep a second claim in flight; the last row turns prefetch off. BullMQ fetches the next job as it completes one.",
    "",
    "## Jobs per second",
    "",
    `Each row: one warm-up run per system, then ${r.rounds} rounds, each running every system once (end to end, then processing only) in a rotating order (the fair queue and the single list back to back, alternating which goes first). A cell is the median round, followed by every round in the order run; a ratio is the median of the rounds' own ratios (each round's follows), so one slow spell of a shared machine does not decide it.`,
    "",
    "| shape | Inlet TCP e2e | Inlet REST e2e | BullMQ e2e | Inlet TCP / BullMQ | Inlet TCP processing only | BullMQ processing only | ratio |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "## Tenant lanes against the single list they replaced",
    "",
    `The same rounds: Inlet's queue now (tenant lanes, src/queue/) against the single-list queue as it was at ${r.baselineCommit.slice(0, 12)} (frozen in bench/baseline-queue/), both over Redis TCP. Enqueue writes each job to its tenant's lane and claim takes tenants from the rotation; the jobs are one tenant's except in the last row, where each comes from another of 100 tenants and the rotation turns on every job (the most work per job for the lanes).`,
    "",
    "| shape | lanes e2e | single list e2e | lanes / single list | lanes processing only | single list processing only | ratio |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...baselineRows,
    "",
    "## Redis commands",
    "",
    `Per job under load (1 consumer, ${r.jobs.commandCount} jobs, counted with MONITOR): sent by clients / executed inside Redis (sent + run by scripts). Idle: commands one waiting consumer sends.`,
    "",
    "| system | per job, concurrency 1 (sent / executed) | per job, concurrency 8 (sent / executed) | idle, first minute | idle per minute, steady | idle per hour |",
    "|---|---:|---:|---:|---:|---:|",
    ...cmdRows,
    "",
  ].join("\n");
}

await main();
