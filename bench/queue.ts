// Queue benchmark: Inlet's pointer queue against BullMQ on the same Redis, side by side in one
// run, same job count, same concurrency, no-op handler. Reports jobs/s end to end (enqueue →
// claim → ack, producer and consumers running together) and processing only (queue filled
// first), Redis commands per job (sent by clients / executed inside Redis, from MONITOR), and
// the commands an idle consumer issues. Writes bench/results/queue.json and queue.md.
//   node bench/queue.ts [--jobs 20000] [--idle-seconds 125] [--throughput-only [--only 'concurrency 8']]
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { queueKeys, queueSettings, type QueueSettings } from "../src/queue/config.ts";
import { PointerQueue } from "../src/queue/queue.ts";
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
const JOBS = arg("jobs", 20_000);
const REST_JOBS = Math.min(JOBS, arg("rest-jobs", 5_000));
const COUNT_JOBS = 2_000;
const IDLE_SECONDS = Math.max(65, arg("idle-seconds", 125));
const REDIS = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
// Each system gets its own database index, so MONITOR can tell their commands apart.
const DB = { inletTcp: 11, inletRest: 12, bullmq: 13 } as const;
const dbUrl = (db: number) => `${REDIS.replace(/\/\d*$/, "")}/${db}`;
const PRODUCER_WINDOW = 64; // enqueues in flight at once, for every system
const log = createLogger({ level: "warn" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const job = (i: number): NewJob => ({ provider: "imap", tenantId: "tenant-bench", providerId: "provider-bench", pointer: { mailbox: "INBOX", uidValidity: "1", uid: i + 1 } });

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

function inletSystem(name: string, db: number, transport: "tcp" | "rest", bridge?: RestBridge): System {
  const settings: QueueSettings = { ...queueSettings({}), keys: queueKeys("bench:inlet:") };
  const closers: (() => void)[] = [];
  const makeQueue = () => {
    if (transport === "tcp") {
      const redis = createTcpRedis(dbUrl(db));
      closers.push(() => redis.disconnect());
      return new PointerQueue(new TcpScriptClient(redis), settings);
    }
    return new PointerQueue(new UpstashScriptClient(createUpstashRedis({ url: bridge!.url, token: "bench" })), settings);
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
    flush: async () => void (await admin.flushdb()),
    close: async () => {
      closers.forEach((c) => c());
      admin.disconnect();
    },
  };
}

function bullmqSystem(db: number): System {
  const connection = { host: "127.0.0.1", port: 6379, db, maxRetriesPerRequest: null };
  const queue = new Queue("bench", { connection, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
  const admin = new Redis(dbUrl(db));
  return {
    name: "BullMQ 6.7 (TCP)",
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
    flush: async () => void (await admin.flushdb()),
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

async function main() {
  const bridge = await startRestBridge({ redisUrl: dbUrl(DB.inletRest), token: "bench" });
  const systems = {
    inletTcp: inletSystem("Inlet (Redis TCP)", DB.inletTcp, "tcp"),
    inletRest: inletSystem("Inlet (Upstash REST bridge)", DB.inletRest, "rest", bridge),
    bullmq: bullmqSystem(DB.bullmq),
  };
  // Inlet consumers prefetch by default (up to 64 jobs ahead, as many as the jobs' running time
  // calls for: all 64 for a no-op handler); the last shape turns that off, to show what it is worth.
  const shapes: [string, number, number, number?][] = [
    ["1 consumer, concurrency 1", 1, 1],
    ["1 consumer, concurrency 8", 1, 8],
    ["8 consumers, concurrency 1 each", 8, 1],
    ["1 consumer, concurrency 1, Inlet prefetch off", 1, 1, 0],
  ];
  const throughput: Record<string, Record<string, { endToEnd: number; processingOnly: number }>> = {};
  const only = process.argv.includes("--only") ? (process.argv[process.argv.indexOf("--only") + 1] ?? "") : "";
  for (const [label, workers, concurrency, prefetch] of shapes) {
    if (!label.includes(only)) continue;
    throughput[label] = {};
    for (const [key, system] of Object.entries(systems)) {
      const jobs = key === "inletRest" ? REST_JOBS : JOBS;
      await endToEnd(system, Math.min(jobs, 1000), workers, concurrency, prefetch); // warm up: scripts loaded, JIT hot
      const e2e = await endToEnd(system, jobs, workers, concurrency, prefetch);
      const proc = await processingOnly(system, jobs, workers, concurrency, prefetch);
      throughput[label]![key] = { endToEnd: e2e, processingOnly: proc };
      console.log(`${label.padEnd(34)} ${system.name.padEnd(30)} e2e ${String(e2e).padStart(6)} jobs/s   processing ${String(proc).padStart(6)} jobs/s`);
    }
  }

  if (process.argv.includes("--throughput-only")) process.exit(0); // a quick comparison; writes nothing

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

  const ratios = Object.fromEntries(
    Object.entries(throughput).map(([label, row]) => [label, {
      tcpEndToEnd: +(row.inletTcp!.endToEnd / row.bullmq!.endToEnd).toFixed(2),
      tcpProcessingOnly: +(row.inletTcp!.processingOnly / row.bullmq!.processingOnly).toFixed(2),
      restEndToEnd: +(row.inletRest!.endToEnd / row.bullmq!.endToEnd).toFixed(2),
    }]),
  );
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    jobs: { tcpAndBullmq: JOBS, rest: REST_JOBS, commandCount: COUNT_JOBS },
    throughput,
    ratiosVsBullmq: ratios,
    commandsPerJob: commands,
    idleCommands: { seconds: +idleSeconds.toFixed(0), ...idleCost },
  };
  writeFileSync("bench/results/queue.json", `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync("bench/results/queue.md", markdown(result));
  console.log("wrote bench/results/queue.json and bench/results/queue.md");
  process.exit(0);
}

function markdown(r: {
  date: string;
  machine: { cpus: number; cpu: string | undefined; node: string };
  jobs: { tcpAndBullmq: number; rest: number; commandCount: number };
  throughput: Record<string, Record<string, { endToEnd: number; processingOnly: number }>>;
  ratiosVsBullmq: Record<string, { tcpEndToEnd: number; tcpProcessingOnly: number; restEndToEnd: number }>;
  commandsPerJob: Record<string, Record<string, { clientSentPerJob: number; executedPerJob: number }>>;
  idleCommands: Record<string, unknown>;
}): string {
  const rows = Object.entries(r.throughput).map(([label, row]) => {
    const ratio = r.ratiosVsBullmq[label]!;
    return `| ${label} | ${row.inletTcp!.endToEnd} | ${row.inletRest!.endToEnd} | ${row.bullmq!.endToEnd} | **${ratio.tcpEndToEnd}×** | ${row.inletTcp!.processingOnly} | ${row.bullmq!.processingOnly} | ${ratio.tcpProcessingOnly}× |`;
  });
  const idle = r.idleCommands as Record<string, { firstMinute: number; steadyPerMinute: number; perHour: number }>;
  const names: Record<string, string> = { inletTcp: "Inlet, Redis TCP", inletRest: "Inlet, Upstash REST", bullmq: "BullMQ 6.7" };
  const c1 = r.commandsPerJob["concurrency 1"] ?? {};
  const c8 = r.commandsPerJob["concurrency 8"] ?? {};
  const cmdRows = Object.keys(names).map((k) => `| ${names[k]} | ${c1[k]?.clientSentPerJob} / ${c1[k]?.executedPerJob} | ${c8[k]?.clientSentPerJob} / ${c8[k]?.executedPerJob} | ${idle[k]?.firstMinute} | ${idle[k]?.steadyPerMinute} | ${idle[k]?.perHour} |`);
  return [
    "# Queue benchmark",
    "",
    `${r.date}, ${r.machine.cpus} × ${r.machine.cpu}, Node ${r.machine.node}, one Redis 7 on loopback, everything in one Node process. Produced by \`npm run bench:queue\`.`,
    `No-op handler; ${r.jobs.tcpAndBullmq} jobs per run for Inlet TCP and BullMQ (${r.jobs.rest} over REST); producer keeps ${PRODUCER_WINDOW} enqueues in flight; BullMQ with removeOnComplete.`,
    "Inlet consumers claim ahead of their free slots as many jobs as two claim round trips take to run (up to 64; with a no-op handler, all 64), carry their acks in the next claim (one script call per batch), and with concurrency above 1 keep a second claim in flight; the last row turns prefetch off. BullMQ fetches the next job as it completes one.",
    "",
    "## Jobs per second",
    "",
    "| shape | Inlet TCP e2e | Inlet REST e2e | BullMQ e2e | Inlet TCP / BullMQ | Inlet TCP processing only | BullMQ processing only | ratio |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
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
