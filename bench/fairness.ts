// Fairness benchmark: one tenant's flood against four quiet tenants, on the single-list queue
// before tenant lanes (bench/baseline-queue/, frozen) and on the fair queue, side by side in one
// run. Tenant A enqueues 20,000 jobs at once; tenants B–E each send one job every 100 ms until A
// has drained; real consumers (consumer/runtime/consumer.ts, over Redis TCP with the wake
// listener, default prefetch) claim and ack with a small per-job work time. Reported per queue:
// B–E's wait (enqueue → handler start) p50/p99/max and A's drain time (A's first enqueue → A's
// last job done), in interleaved rounds (the order alternates), each cell the median round with
// every round shown, and the ratios of the rounds. Writes bench/results/fairness.json and .md;
// a run with any option writes nothing unless --write is given.
//   node bench/fairness.ts [--jobs 20000] [--rounds 3] [--work-ms 10] [--consumers 4] [--concurrency 16] [--write]
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { Redis } from "ioredis";
import { queueKeys, queueSettings, type QueueSettings } from "../src/queue/config.ts";
import { PointerQueue, type Claim } from "../src/queue/queue.ts";
import { PointerQueue as BaselineQueue } from "./baseline-queue/queue.ts";
import { BASELINE_COMMIT } from "./baseline-queue/commit.ts";
import { createTcpRedis, TcpScriptClient, WakeListener } from "../consumer/redis/tcp-client.ts";
import { Consumer } from "../consumer/runtime/consumer.ts";
import { createLogger } from "../consumer/runtime/log.ts";
import type { NewJob } from "../src/queue/job.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const FLOOD = arg("jobs", 20_000);
const ROUNDS = Math.max(1, Math.floor(arg("rounds", 3)));
const WORK_MS = arg("work-ms", 10);
const CONSUMERS = arg("consumers", 4);
const CONCURRENCY = arg("concurrency", 16);
const QUIET_EVERY_MS = 100;
const QUIET = ["B", "C", "D", "E"];
const REDIS = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const WRITE = process.argv.length === 2 || process.argv.includes("--write");
const log = createLogger({ level: "warn" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type QueueKind = "baseline" | "fair";
const NAMES: Record<QueueKind, string> = { baseline: "single list (before)", fair: "tenant lanes (fair)" };

const job = (tenant: string, uid: number): NewJob => ({ provider: "imap", tenantId: tenant, providerId: `provider-${tenant}`, pointer: { mailbox: "INBOX", uidValidity: "1", uid } });

interface RoundResult {
  /** B–E: enqueue → handler start, ms. */
  quietWaitP50: number;
  quietWaitP99: number;
  quietWaitMax: number;
  quietJobs: number;
  /** A: first enqueue → last job done, ms. */
  floodDrainMs: number;
  floodWaitP50: number;
  /** Claim calls per job claimed, and their mean round trip (ms). */
  claimsPerJob: number;
  claimMs: number;
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
const median = (values: readonly number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function deleteByPrefix(redis: Redis, prefix: string) {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
}

async function round(kind: QueueKind, n: number, admin: Redis): Promise<RoundResult> {
  const prefix = `bench:fairness:${process.pid}:${kind}:${n}:`;
  const settings: QueueSettings = { ...queueSettings({}), keys: queueKeys(prefix) };
  const connections: Redis[] = [];
  const makeQueue = (): PointerQueue => {
    const redis = createTcpRedis(REDIS);
    connections.push(redis);
    const client = new TcpScriptClient(redis);
    // The baseline has the same surface; its private fields make TypeScript call it another class.
    return kind === "fair" ? new PointerQueue(client, settings) : (new BaselineQueue(client, settings) as unknown as PointerQueue);
  };
  const producer = makeQueue();
  const quietWaits: number[] = [];
  const floodWaits: number[] = [];
  let floodDone = 0;
  let floodFinishedAt = 0;
  const handler = async (claim: Claim) => {
    const wait = Date.now() - claim.job.enqueuedAt;
    if (claim.job.tenantId === "A") floodWaits.push(wait);
    else quietWaits.push(wait);
    await sleep(WORK_MS);
    if (claim.job.tenantId === "A" && ++floodDone === FLOOD) floodFinishedAt = performance.now();
    return { outcome: "processed" as const, messages: [] };
  };
  const claims = { calls: 0, jobs: 0, ms: 0 };
  const counted = (queue: PointerQueue): PointerQueue => {
    const claim = queue.claim.bind(queue);
    queue.claim = async (options) => {
      const t = performance.now();
      const result = await claim(options);
      claims.calls++;
      claims.jobs += result.claims.length;
      claims.ms += performance.now() - t;
      return result;
    };
    return queue;
  };
  const consumers = Array.from({ length: CONSUMERS }, () => new Consumer({ queue: counted(makeQueue()), log, concurrency: CONCURRENCY, handler, wake: new WakeListener(REDIS, settings.keys.wake) }));
  consumers.forEach((c) => c.start());
  await sleep(300);

  const started = performance.now();
  let quietUid = 0;
  let quietSent = 0;
  const tickers = QUIET.map((tenant, i) =>
    setTimeout(() => {
      const send = () => {
        quietSent++;
        void producer.enqueue([{ job: job(tenant, ++quietUid) }]);
      };
      send();
      tickers[i] = setInterval(send, QUIET_EVERY_MS);
    }, (QUIET_EVERY_MS / QUIET.length) * i),
  ) as ReturnType<typeof setTimeout>[];
  for (let from = 0; from < FLOOD; from += 1000) {
    await producer.enqueue(Array.from({ length: Math.min(1000, FLOOD - from) }, (_, i) => ({ job: job("A", from + i + 1) })));
  }
  while (floodDone < FLOOD) await sleep(5);
  tickers.forEach((t) => clearInterval(t));
  while (quietWaits.length < quietSent) await sleep(5);
  await Promise.all(consumers.map((c) => c.stop()));
  connections.forEach((c) => c.disconnect());
  await deleteByPrefix(admin, prefix);

  const quiet = [...quietWaits].sort((a, b) => a - b);
  const flood = [...floodWaits].sort((a, b) => a - b);
  return {
    quietWaitP50: percentile(quiet, 50),
    quietWaitP99: percentile(quiet, 99),
    quietWaitMax: quiet.at(-1) ?? NaN,
    quietJobs: quiet.length,
    floodDrainMs: Math.round(floodFinishedAt - started),
    floodWaitP50: percentile(flood, 50),
    claimsPerJob: +(claims.calls / claims.jobs).toFixed(3),
    claimMs: +(claims.ms / claims.calls).toFixed(2),
  };
}

interface Result {
  date: string;
  machine: { cpus: number; cpu: string | undefined; node: string };
  redis: string;
  baselineCommit: string;
  setup: { floodJobs: number; quietTenants: string[]; quietEveryMs: number; workMs: number; consumers: number; concurrency: number; rounds: number };
  rounds: Record<QueueKind, RoundResult[]>;
  medians: Record<QueueKind, RoundResult>;
  /** Per round, fair / baseline. */
  ratios: { floodDrain: number; quietWaitP99: number }[];
  medianRatios: { floodDrain: number; quietWaitP99: number };
  goals: { quietP99UnderOneSecond: boolean; floodDrainAtMost10PercentSlower: boolean };
}

function markdown(r: Result): string {
  const cell = (kind: QueueKind, pick: (x: RoundResult) => number) => `${pick(r.medians[kind])} (${r.rounds[kind].map(pick).join(", ")})`;
  const rows = (["baseline", "fair"] as const).map(
    (k) =>
      `| ${NAMES[k]} | ${cell(k, (x) => x.quietWaitP50)} | **${cell(k, (x) => x.quietWaitP99)}** | ${cell(k, (x) => x.quietWaitMax)} | ${cell(k, (x) => x.quietJobs)} | **${cell(k, (x) => x.floodDrainMs)}** | ${cell(k, (x) => x.floodWaitP50)} | ${cell(k, (x) => x.claimsPerJob)} | ${cell(k, (x) => x.claimMs)} |`,
  );
  return [
    "# Fairness benchmark",
    "",
    `${r.date}, ${r.machine.cpus} × ${r.machine.cpu}, Node ${r.machine.node}, Redis ${r.redis} on loopback, one Node process. Produced by \`npm run bench:fairness\`.`,
    `Tenant A enqueues ${r.setup.floodJobs} jobs at once (batches of 1,000); tenants ${r.setup.quietTenants.join(", ")} each send one job every ${r.setup.quietEveryMs} ms until A has drained. ${r.setup.consumers} consumers × concurrency ${r.setup.concurrency} (the real claim loop over TCP, wake listener, default prefetch) claim and ack; each job works ${r.setup.workMs} ms. Wait: enqueue → the handler starts. A's drain: A's first enqueue → A's last job done.`,
    `"Single list (before)" is the queue as it was at ${r.baselineCommit.slice(0, 12)}, frozen in bench/baseline-queue/; "tenant lanes (fair)" is src/queue/. ${r.setup.rounds} interleaved rounds (the order alternates); each cell is the median round, then every round in the order run.`,
    "",
    "| queue | B–E wait p50 ms | B–E wait p99 ms | B–E wait max ms | B–E jobs | A drain ms | A wait p50 ms | claim calls per job | claim round trip ms |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `Fair / before, median of the rounds' ratios (each round's in brackets): A's drain **${r.medianRatios.floodDrain}×** (${r.ratios.map((x) => x.floodDrain).join(", ")}), B–E p99 wait **${r.medianRatios.quietWaitP99}×** (${r.ratios.map((x) => x.quietWaitP99).join(", ")}).`,
    "",
    `Goals: B–E p99 under 1 s on the fair queue: **${r.goals.quietP99UnderOneSecond ? "met" : "not met"}**; A's drain at most 10% slower: **${r.goals.floodDrainAtMost10PercentSlower ? "met" : "not met"}**.`,
    "",
  ].join("\n");
}

async function main() {
  const admin = new Redis(REDIS);
  const redisVersion = /redis_version:(.*)/.exec(await admin.info("server"))?.[1]?.trim() ?? "unknown";
  console.log(`Redis ${redisVersion}; A ${FLOOD} jobs, B–E every ${QUIET_EVERY_MS} ms, ${CONSUMERS} × ${CONCURRENCY}, ${WORK_MS} ms per job, ${ROUNDS} rounds`);
  const rounds: Record<QueueKind, RoundResult[]> = { baseline: [], fair: [] };
  for (let n = 0; n < ROUNDS; n++) {
    const order: QueueKind[] = n % 2 === 0 ? ["baseline", "fair"] : ["fair", "baseline"];
    for (const kind of order) {
      const r = await round(kind, n, admin);
      rounds[kind].push(r);
      console.log(`round ${n + 1} ${NAMES[kind].padEnd(22)} B–E wait p50 ${r.quietWaitP50} ms, p99 ${r.quietWaitP99} ms, max ${r.quietWaitMax} ms (${r.quietJobs} jobs); A drained in ${r.floodDrainMs} ms; ${r.claimsPerJob} claims per job, ${r.claimMs} ms each`);
    }
  }
  admin.disconnect();
  const med = (kind: QueueKind): RoundResult => {
    const list = rounds[kind];
    const pick = (f: (x: RoundResult) => number) => Math.round(median(list.map(f)));
    return {
      quietWaitP50: pick((x) => x.quietWaitP50),
      quietWaitP99: pick((x) => x.quietWaitP99),
      quietWaitMax: pick((x) => x.quietWaitMax),
      quietJobs: pick((x) => x.quietJobs),
      floodDrainMs: pick((x) => x.floodDrainMs),
      floodWaitP50: pick((x) => x.floodWaitP50),
      claimsPerJob: +median(list.map((x) => x.claimsPerJob)).toFixed(3),
      claimMs: +median(list.map((x) => x.claimMs)).toFixed(2),
    };
  };
  const ratios = rounds.fair.map((f, i) => ({
    floodDrain: +(f.floodDrainMs / rounds.baseline[i]!.floodDrainMs).toFixed(3),
    quietWaitP99: +(f.quietWaitP99 / rounds.baseline[i]!.quietWaitP99).toFixed(4),
  }));
  const medianRatios = { floodDrain: +median(ratios.map((x) => x.floodDrain)).toFixed(3), quietWaitP99: +median(ratios.map((x) => x.quietWaitP99)).toFixed(4) };
  const medians = { baseline: med("baseline"), fair: med("fair") };
  const result: Result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    redis: redisVersion,
    baselineCommit: BASELINE_COMMIT,
    setup: { floodJobs: FLOOD, quietTenants: QUIET, quietEveryMs: QUIET_EVERY_MS, workMs: WORK_MS, consumers: CONSUMERS, concurrency: CONCURRENCY, rounds: ROUNDS },
    rounds,
    medians,
    ratios,
    medianRatios,
    goals: { quietP99UnderOneSecond: medians.fair.quietWaitP99 < 1000, floodDrainAtMost10PercentSlower: medianRatios.floodDrain <= 1.1 },
  };
  console.log(markdown(result));
  if (WRITE) {
    writeFileSync("bench/results/fairness.json", `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync("bench/results/fairness.md", markdown(result));
    console.log("wrote bench/results/fairness.json and bench/results/fairness.md");
  }
  process.exit(0);
}

await main();
