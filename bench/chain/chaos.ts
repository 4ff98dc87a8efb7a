// The chaos run: the whole chain as processes (see stack.ts), mail across the three providers at
// a steady offered rate, and while it arrives: the consumer's process group SIGKILLed every 2-4 s
// and restarted, Redis SIGKILLed once and started again from its append-only file, PostgreSQL
// restarted once (pg_ctl stop -m fast), the REST endpoint SIGKILLed once and started again, and a
// share of Graph and Gmail notifications dropped. Then no more faults: the run waits for the
// chain to drain and checks what it left behind (verify.ts).
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cleanup } from "./cleanup.ts";
import { closeLogs, sleep } from "./child.ts";
import { Deliverer, offer, type DeliveryStats } from "./deliver.ts";
import { planMail } from "./mail-plan.ts";
import { startStack, type ChainStack } from "./stack.ts";
import { progressOf, verifyRun, type Verdict } from "./verify.ts";
import type { ConsumerExit, ErrorLine } from "./consumer-group.ts";

export interface ChaosOptions {
  root: string;
  mails: number;
  /** Offered load, mails per second. */
  rate: number;
  seed: number;
  poisoned: number;
  /** Share of Graph and Gmail notifications dropped. */
  dropShare: number;
  /** The consumer is SIGKILLed after a random wait in this range (ms). */
  killEveryMs: readonly [number, number];
  /** When (share of the load phase) Redis, PostgreSQL and the REST endpoint are hit, and for how long each stays down. */
  faults: { redisAt: number; postgresAt: number; restAt: number; downMs: number };
  drainTimeoutMs: number;
  workerPort?: number;
  /** Consumer settings that bound the run's time (see CHAOS_CONSUMER_ENV). */
  consumerEnv: Record<string, string>;
  /** Keep the run's directory (logs, data) even when it passed. */
  keepDir?: boolean;
  progress: (line: string) => void;
  /** For SIGINT handling by a caller: the cleanup that stops every process of the run. */
  cleanup?: Cleanup;
}

/** Shorter than the defaults so that a run of thousands of mails and dozens of crashes ends in
 * minutes, each named in the report:
 *  - claim TTL 5 s (default 60 s): jobs a SIGKILLed consumer held come back within seconds;
 *  - reclaim every 1 s (default 30 s): the consumers, not only the minute Cron, return them;
 *  - backoff 250 ms to 2 s (default 5 s to 15 min): the poisoned mail's five deliveries fit in the run;
 *  - sweep every 5 s (default 5 min): mail whose notification was dropped is found in seconds;
 *  - IMAP watch lease 3 s (default 60 s): a restarted consumer watches the IMAP mailbox again
 *    within about 4 s of the crash, not after the dead one's minute;
 *  - MAX_ATTEMPTS 5 (the default), given explicitly because the check counts on it. */
export const CHAOS_CONSUMER_ENV: Record<string, string> = {
  UNIFIED_INBOUND_EMAIL_QUEUE_CLAIM_TTL_MS: "5000",
  INLET_RECLAIM_INTERVAL_MS: "1000",
  UNIFIED_INBOUND_EMAIL_QUEUE_BACKOFF_BASE_MS: "250",
  UNIFIED_INBOUND_EMAIL_QUEUE_BACKOFF_MAX_MS: "2000",
  INLET_RECONCILE_INTERVAL_MS: "5000",
  INLET_IMAP_LEASE_TTL_MS: "3000",
  UNIFIED_INBOUND_EMAIL_QUEUE_MAX_ATTEMPTS: "5",
};

export interface FaultEvent {
  at: number;
  what: string;
  ms: number;
}

export interface ChaosReport {
  generatedAt: string;
  options: Omit<ChaosOptions, "root" | "progress" | "cleanup">;
  verdict: Verdict;
  /** Seconds from the first mail to the chain drained (or the drain timeout). */
  wallSeconds: number;
  loadSeconds: number;
  drainSeconds: number;
  drained: boolean;
  mailsPerSecond: number;
  delivery: DeliveryStats;
  consumer: { starts: number; kills: number; startFailures: number; crashes: ConsumerExit[]; errors: ErrorLine[]; dlqEvents: number };
  /** Jobs by how many deliveries they took (the consumer's consume_start lines): how close mail
   * that was not poisoned came to the dead-letter list under the kills, each of which costs the
   * jobs it held an attempt. */
  deliveriesPerJob: { poisoned: Record<string, number>; others: Record<string, number> };
  faults: FaultEvent[];
  /** Where the logs are (kept when the run failed). */
  dir: string | undefined;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const generatedAt = new Date().toISOString();
  const dir = mkdtempSync(join(tmpdir(), "inlet-chaos-"));
  chmodSync(dir, 0o755); // PostgreSQL runs as its own user and must reach its folder
  const cleanup = o.cleanup ?? new Cleanup();
  const events: FaultEvent[] = [];
  let stack: ChainStack | undefined;
  let passed = false;
  try {
    o.progress(`starting the chain in ${dir}`);
    stack = await startStack({ root: o.root, dir, ...(o.workerPort ? { workerPort: o.workerPort } : {}), consumerEnv: o.consumerEnv, progress: o.progress }, cleanup);
    const s = stack;
    const plan = planMail({ count: o.mails, seed: o.seed, runId: `chaos${o.seed}`, shape: "small", poisoned: o.poisoned });
    const deliverer = new Deliverer(s, { dropShare: o.dropShare, seed: o.seed });
    const providerMessageIds = new Map<number, string>();
    const loadMs = (o.mails / o.rate) * 1000;
    const t0 = Date.now();
    const timed = async (what: string, fault: () => Promise<void>) => {
      const began = Date.now();
      await fault();
      events.push({ at: began - t0, what, ms: Date.now() - began });
      o.progress(`  ${((began - t0) / 1000).toFixed(1)} s: ${what} (${Date.now() - began} ms)`);
    };

    let loading = true;
    const kills = (async () => {
      const rnd = () => o.killEveryMs[0] + Math.random() * (o.killEveryMs[1] - o.killEveryMs[0]);
      for (await sleep(rnd()); loading; await sleep(rnd())) {
        const began = Date.now();
        await s.consumer.kill();
        s.consumer.start();
        events.push({ at: began - t0, what: "consumer SIGKILL + restart", ms: Date.now() - began });
      }
    })();
    const at = (share: number, what: string, fault: () => Promise<void>) => sleep(share * loadMs).then(() => timed(what, fault));
    const faults = Promise.all([
      at(o.faults.redisAt, "Redis SIGKILL, restart from the append-only file", () => s.redis.crashAndRestart(o.faults.downMs)),
      at(o.faults.postgresAt, "PostgreSQL restart (pg_ctl stop -m fast, start)", () => s.postgres.restart(o.faults.downMs)),
      at(o.faults.restAt, "REST endpoint SIGKILL + restart", () => s.rest.crashAndRestart(o.faults.downMs)),
    ]);
    const cron = setInterval(() => void s.scheduled(), 60_000);

    await offer(plan, o.rate, t0, async (mail) => providerMessageIds.set(mail.index, (await deliverer.deliver(mail)).providerMessageId));
    const loadSeconds = (Date.now() - t0) / 1000;
    o.progress(`  ${loadSeconds.toFixed(1)} s: all ${o.mails} mails delivered; faults stop`);
    await faults;
    loading = false;
    await kills;
    await deliverer.settled();

    const live = plan.filter((m) => !m.poisoned).length;
    const drainStart = Date.now();
    let drained = false;
    let last = "";
    while (Date.now() - drainStart < o.drainTimeoutMs) {
      const p = await progressOf(s.postgres.url, s.consumerEnv).catch(() => undefined);
      if (p) {
        const line = `processed ${p.processed}/${live}, ready ${p.queue.ready}, processing ${p.queue.processing}, delayed ${p.queue.delayed}, dlq ${p.queue.dlq}/${o.poisoned}`;
        if (line !== last && (Date.now() - drainStart) % 5000 < 1000) o.progress(`  draining: ${line}`);
        last = line;
        if (p.processed >= live && p.queue.dlq >= o.poisoned && p.queue.ready + p.queue.processing + p.queue.inflight + p.queue.delayed === 0) {
          drained = true;
          break;
        }
      }
      await sleep(500);
    }
    const wallSeconds = (Date.now() - t0) / 1000;
    clearInterval(cron);
    await sleep(1000); // a straggler that would double a mail has its moment to show
    const verdict = await verifyRun({
      plan,
      providerMessageIds,
      databaseUrl: s.postgres.url,
      consumerEnv: s.consumerEnv,
      maxAttempts: Number(o.consumerEnv.UNIFIED_INBOUND_EMAIL_QUEUE_MAX_ATTEMPTS ?? 5),
      poisonHits: (id) => s.graph.faults.hits(`message:${id}`),
    });
    passed = verdict.ok && drained && s.consumer.stats.crashes.length === 0;
    const { progress: _p, cleanup: _c, root: _r, ...options } = o;
    return {
      generatedAt,
      options,
      verdict,
      wallSeconds: round(wallSeconds),
      loadSeconds: round(loadSeconds),
      drainSeconds: round((Date.now() - drainStart) / 1000),
      drained,
      mailsPerSecond: round(o.mails / wallSeconds),
      delivery: deliverer.stats,
      consumer: { starts: s.consumer.stats.starts, kills: s.consumer.stats.kills, startFailures: s.consumer.stats.startFailures, crashes: s.consumer.stats.crashes, errors: [...s.consumer.stats.errors.values()], dlqEvents: s.consumer.stats.dlqEvents },
      deliveriesPerJob: histogram(s.consumer.stats.deliveries, new Set(verdict.deadLetters.jobIds)),
      faults: events,
      dir: passed && !o.keepDir ? undefined : dir,
    };
  } finally {
    await cleanup.run(o.progress);
    await closeLogs();
    if (passed && !o.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 10) / 10;

/** How many jobs took 1, 2, ... deliveries, the dead-lettered apart. */
function histogram(deliveries: ReadonlyMap<string, number>, deadJobIds: ReadonlySet<string>): ChaosReport["deliveriesPerJob"] {
  const out: ChaosReport["deliveriesPerJob"] = { poisoned: {}, others: {} };
  for (const [jobId, n] of deliveries) {
    const bucket = deadJobIds.has(jobId) ? out.poisoned : out.others;
    bucket[n] = (bucket[n] ?? 0) + 1;
  }
  return out;
}
