// `npm run bench:spread`: the IMAP listener spread across consumer replicas, against a real
// Dovecot with many mailboxes (passwd-file users), the Worker under `wrangler dev` in front of
// the REST endpoint, a Redis and a PostgreSQL of the run's own, and the replicas as processes
// (`node consumer/cli/main.ts consumer`, INLET_HTTP_PORT=0). The run:
//   1. three replicas start: each must hold total ÷ 3 ± 10%, every mailbox watched once;
//   2. mail starts arriving (dropped into the Maildirs as an MTA does, so Dovecot's IDLE
//      announces it), spread over every phase that follows;
//   3. one replica is SIGKILLed: its mailboxes must be watched again within the lease TTL, and
//      the jobs it had claimed go back to ready by the survivors' reclaim;
//   4. it is started again (as its orchestrator would) and a fourth replica joins: leases move
//      until each of the four holds about total ÷ 4;
//   5. every mail must end as exactly one ticket (checked in PostgreSQL).
// Measured per replica: peak RSS and file descriptors, and per watched mailbox the RSS and fds
// above a replica that watches nothing (INLET_IMAP_LISTENER=0). Results: bench/results/spread.json
// and spread.md.
//   node bench/spread.ts [--mailboxes 1500] [--mails 3000] [--rate 50] [--keep] [--write]
//   node bench/spread.ts --render bench/results/spread.json   (spread.md again from a run's JSON)
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Redis } from "ioredis";
import { consumerConfig, DEFAULT_IMAP_LEASE_TTL_MS, DEFAULT_REPLICA_TTL_MS } from "../consumer/config.ts";
import { createProviderApis } from "../consumer/provider-api/apis.ts";
import { connectImap } from "../consumer/providers/imap.ts";
import { connectQueue } from "../consumer/runtime/queue-connection.ts";
import { Mailboxes } from "../consumer/store/mailboxes.ts";
import { openDatabase } from "../consumer/store/open.ts";
import { startDovecot, type Dovecot } from "../dev/dovecot.ts";
import { startWorkerDev } from "../dev/worker.ts";
import { queueKeys } from "../src/queue/config.ts";
import { closeLogs, sleep, startProcess, type RunningChild } from "./chain/child.ts";
import { Cleanup } from "./chain/cleanup.ts";
import { childEnv, freePort, startOwnPostgres, startOwnRedis, startOwnRestBridge } from "./chain/services.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MAILBOXES = arg("mailboxes", 1500);
const MAILS = arg("mails", 3000);
const RATE = arg("rate", 50);
const TENANTS = 10;
const SECRETS = { rest: "spread-rest-token-0123456789", admin: "spread-admin-token-0123456789", imap: "spread-imap-webhook-secret-0123456789" };
const root = process.cwd();
const progress = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const cleanup = new Cleanup();
cleanup.onSignals(progress);

const renderFrom = process.argv.includes("--render") ? process.argv[process.argv.indexOf("--render") + 1] : undefined;
if (renderFrom) {
  writeFileSync("bench/results/spread.md", markdown(JSON.parse(readFileSync(renderFrom, "utf8")) as Parameters<typeof markdown>[0]));
  progress("wrote bench/results/spread.md");
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "inlet-spread-"));
chmodSync(dir, 0o755); // PostgreSQL runs as its own user and must reach its folder
const users = Array.from({ length: MAILBOXES }, (_, i) => ({ user: `box${i}@spread.example`, password: `pw-${i}` }));

// ---- the stack ----
const step = async <T>(what: string, start: () => Promise<T>): Promise<T> => {
  const began = Date.now();
  const value = await start();
  progress(`${what} (${((Date.now() - began) / 1000).toFixed(1)} s)`);
  return value;
};
// Watchers, the resolvers' fetch connections and onboarding's logins at once.
const dovecot: Dovecot = await step(`Dovecot with ${MAILBOXES} users`, () => startDovecot(users, { maxConnections: MAILBOXES * 3 + 200 }));
cleanup.add("Dovecot", () => dovecot.stop());
const redis = await step("Redis", () => startOwnRedis(dir));
cleanup.add("Redis", () => redis.stop());
const postgres = await step("PostgreSQL", () => startOwnPostgres(dir));
cleanup.add("PostgreSQL", () => postgres.stop());
const rest = await step("REST endpoint", () => startOwnRestBridge({ root, dir, redisUrl: redis.url, token: SECRETS.rest }));
cleanup.add("REST endpoint", () => rest.stop());
const workerPort = process.env.INLET_TEST_PORT_BASE ? Number(process.env.INLET_TEST_PORT_BASE) + 900 : await freePort();
const workerUrl = `http://127.0.0.1:${workerPort}`;
const worker = await step("Worker (wrangler dev)", async () => {
  const path = process.env.PATH;
  process.env.PATH = childEnv().PATH;
  try {
    return await startWorkerDev({ root, port: workerPort, persistTo: join(dir, "wrangler"), log: () => undefined, vars: { UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: rest.token, INLET_ADMIN_TOKEN: SECRETS.admin, IMAP_WEBHOOK_SECRET: SECRETS.imap } });
  } finally {
    process.env.PATH = path;
  }
});
cleanup.add("Worker", () => worker.stop());

const consumerEnv: Record<string, string> = {
  REDIS_URL: redis.url,
  DATABASE_URL: postgres.url,
  INGRESS_URL: workerUrl,
  IMAP_WEBHOOK_SECRET: SECRETS.imap,
  INLET_CONCURRENCY: "8",
  INLET_HTTP_PORT: "0",
  LOG_LEVEL: "info",
};

await step(`${MAILBOXES} IMAP mailboxes connected (login, cursor, registry)`, async () => {
  const config = consumerConfig(consumerEnv);
  const connection = connectQueue(config, { failFast: true });
  const db = await openDatabase(config);
  try {
    const mailboxes = new Mailboxes(db, config.secretsEnv);
    const ctx = { mailboxes, queue: connection.queue, apis: createProviderApis(config.providers), ingressUrl: workerUrl };
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < MAILBOXES; i = next++) {
          const u = users[i]!;
          const id = await mailboxes.add({ tenantId: `tenant-${i % TENANTS}`, kind: "imap", address: u.user, credentials: { type: "imap", host: dovecot.host, port: dovecot.port, secure: false, user: u.user, password: u.password } });
          await connectImap(ctx, (await mailboxes.get(id))!);
        }
      }),
    );
  } finally {
    await db.close();
    connection.close();
  }
});

// ---- replicas ----
interface Sample {
  rssMb: number;
  hwmMb: number;
  fds: number;
}

function sampleOf(pid: number): Sample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

class Replica {
  readonly name: string;
  readonly child: RunningChild;
  readonly watching = new Set<string>();
  /** providerId → when this replica last logged that it watches it (its IMAP session open). */
  readonly watchedAt = new Map<string, number>();
  /** providerId → when this replica last took its lease. */
  readonly tookAt = new Map<string, number>();
  readonly startedAt = Date.now();
  replicaId = "";
  started = false;
  alive = true;
  handedBack = 0;
  peak = { rssMb: 0, fds: 0 };
  reclaims: { at: number; requeued: number }[] = [];

  constructor(name: string, env: Record<string, string> = {}) {
    this.name = name;
    this.child = startProcess(name, process.execPath, [join(root, "consumer", "cli", "main.ts"), "consumer"], {
      env: childEnv({ ...consumerEnv, ...env }),
      cwd: root,
      logFile: join(dir, `${name}.log`),
      group: true,
      onLine: (line) => this.#line(line),
    });
    void this.child.exited.then(() => (this.alive = false));
    cleanup.add(name, () => this.child.stop(30_000));
  }

  #line(line: string): void {
    if (!/"event":"(imap_listener_watching|imap_listener_took|imap_listener_stopped_watching|inbound_email_consumer_started|inbound_email_queue_reclaim)"/.test(line)) return;
    let entry: { event?: string; providerId?: string; providerIds?: string[]; replicaId?: string; reason?: string; requeued?: number };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    if (entry.event === "inbound_email_consumer_started") {
      this.started = true;
      this.replicaId = entry.replicaId ?? "";
    } else if (entry.event === "imap_listener_watching" && entry.providerId) {
      this.watching.add(entry.providerId);
      this.watchedAt.set(entry.providerId, Date.now());
    } else if (entry.event === "imap_listener_took") {
      for (const id of entry.providerIds ?? []) this.tookAt.set(id, Date.now());
    } else if (entry.event === "imap_listener_stopped_watching" && entry.providerId) {
      this.watching.delete(entry.providerId);
      if (entry.reason === "handed back") this.handedBack++;
    } else if (entry.event === "inbound_email_queue_reclaim") {
      this.reclaims.push({ at: Date.now(), requeued: entry.requeued ?? 0 });
    }
  }

  sample(): Sample | undefined {
    if (!this.alive) return undefined;
    const s = sampleOf(this.child.pid);
    if (s) this.peak = { rssMb: Math.max(this.peak.rssMb, s.hwmMb), fds: Math.max(this.peak.fds, s.fds) };
    return s;
  }
}

const replicas: Replica[] = [];
const sampler = setInterval(() => replicas.forEach((r) => r.sample()), 500);
cleanup.add("sampler", async () => clearInterval(sampler));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const began = Date.now();
  while (Date.now() - began < timeoutMs) {
    if (await check()) return Date.now() - began;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s (${replicas.filter((r) => r.alive).map((r) => `${r.name} ${r.watching.size}`).join(", ")})`);
}

const live = () => replicas.filter((r) => r.alive);
const counts = () => Object.fromEntries(live().map((r) => [r.name, r.watching.size]));
/** Each live replica within ±10% of an even share, and every mailbox watched by exactly one. */
function balanced(): boolean {
  const rs = live();
  const share = MAILBOXES / rs.length;
  const all = rs.flatMap((r) => [...r.watching]);
  return all.length === MAILBOXES && new Set(all).size === MAILBOXES && rs.every((r) => Math.abs(r.watching.size - share) <= share * 0.1);
}
function evenly(): boolean {
  const rs = live();
  const share = Math.ceil(MAILBOXES / rs.length);
  const all = rs.flatMap((r) => [...r.watching]);
  return balanced() && new Set(all).size === MAILBOXES && rs.every((r) => r.watching.size <= share && r.watching.size >= MAILBOXES - share * (rs.length - 1));
}

// A replica that watches nothing: what the rest of the consumer costs.
const baseline = await step("baseline replica (INLET_IMAP_LISTENER=0)", async () => {
  const r = new Replica("baseline", { INLET_IMAP_LISTENER: "0" });
  await until("the baseline replica started", () => r.started, 120_000);
  await sleep(3000);
  const s = r.sample()!;
  await r.child.stop(30_000);
  return s;
});

const phases: Record<string, unknown> = {};
const t0 = Date.now();
for (const name of ["replica-1", "replica-2", "replica-3"]) replicas.push(new Replica(name));
const settle3 = await until("three replicas hold their share", evenly, 300_000);
const steady = Object.fromEntries(live().map((r) => [r.name, { watching: r.watching.size, ...r.sample()! }]));
const dovecotSessions = imapSessions();
phases.threeReplicas = { settledSeconds: round(settle3 / 1000), counts: counts(), steady, dovecotSessions };
progress(`three replicas settled in ${(settle3 / 1000).toFixed(1)} s: ${JSON.stringify(counts())}; Dovecot IMAP sessions ${dovecotSessions}`);

// ---- mail, all through what follows ----
const sent: string[] = [];
const mailer = (async () => {
  const began = Date.now();
  for (let k = 0; k < MAILS; k++) {
    const due = began + (k * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    const box = (k * 7919) % MAILBOXES;
    const id = `spread-${k}@bench.example`;
    dovecot.dropIntoMaildir(users[box]!.user, [`From: Customer ${k} <customer${k}@example.org>`, `To: ${users[box]!.user}`, `Subject: Spread ${k}`, `Message-ID: <${id}>`, `Date: ${new Date().toUTCString()}`, "", `Mail ${k}.`, ""].join("\r\n"));
    sent.push(id);
  }
})();
await sleep(Math.min(8000, (MAILS / RATE) * 1000 * 0.15));

// ---- SIGKILL one ----
const victim = replicas[2]!;
const orphans = [...victim.watching];
const probe = new Redis(redis.url);
const keys = queueKeys();
const claimsAtKill = new Map(Object.entries(await probe.hgetall(keys.inflight)).map(([jobId, record]) => [jobId, record.split("|")[0]!]));
const killedAt = Date.now();
await victim.child.kill();
progress(`SIGKILLed ${victim.name} watching ${orphans.length}; ${claimsAtKill.size} claims held by all replicas at that moment`);
// When each claim held at the kill left processing under its token: the survivors' within
// moments (acked), the killed replica's only once its lease ran out and a reclaim took it back.
const claimGone = new Map<string, number>();
const claimWatch = (async () => {
  while (claimGone.size < claimsAtKill.size && Date.now() - killedAt < 60_000) {
    const now = Date.now();
    const records = claimsAtKill.size ? await probe.hmget(keys.inflight, ...claimsAtKill.keys()) : [];
    [...claimsAtKill].forEach(([jobId, token], i) => {
      if (!claimGone.has(jobId) && !(records[i] ?? "").startsWith(`${token}|`)) claimGone.set(jobId, now);
    });
    await sleep(100);
  }
})();
const takeOver = await until(
  "the killed replica's mailboxes watched again",
  () => orphans.every((id) => live().some((r) => (r.watchedAt.get(id) ?? 0) > killedAt)),
  120_000,
);
const leasesTaken = Math.max(...orphans.map((id) => Math.max(...live().map((r) => ((r.tookAt.get(id) ?? 0) > killedAt ? r.tookAt.get(id)! : 0)))));
const lastTaken = Math.max(...orphans.map((id) => Math.max(...live().map((r) => ((r.watchedAt.get(id) ?? 0) > killedAt ? r.watchedAt.get(id)! : 0)))));
const firstTaken = Math.min(...orphans.map((id) => Math.min(...live().map((r) => ((r.watchedAt.get(id) ?? 0) > killedAt ? r.watchedAt.get(id)! : Infinity)))));
await until("two replicas hold their share", evenly, 120_000);
await claimWatch;
const requeuedAfterKill = live().flatMap((r) => r.reclaims.filter((e) => e.at > killedAt && e.requeued > 0));
const lateClaims = [...claimGone.values()].map((at) => at - killedAt).filter((ms) => ms > 3000);
phases.kill = {
  killed: victim.name,
  orphans: orphans.length,
  leasesTakenSeconds: round((leasesTaken - killedAt) / 1000),
  firstWatchedAgainSeconds: round((firstTaken - killedAt) / 1000),
  allWatchedAgainSeconds: round((lastTaken - killedAt) / 1000),
  leaseTtlSeconds: DEFAULT_IMAP_LEASE_TTL_MS / 1000,
  replicaTtlSeconds: DEFAULT_REPLICA_TTL_MS / 1000,
  counts: counts(),
  claimsAtKill: claimsAtKill.size,
  claimsStillHeldAfter60s: claimsAtKill.size - claimGone.size,
  /** Claims that left processing more than 3 s after the kill: the killed replica's, taken back by a reclaim. */
  killedReplicaClaims: lateClaims.length,
  killedReplicaClaimsBackBySeconds: lateClaims.length ? round(Math.max(...lateClaims) / 1000) : null,
  requeuedByReclaim: requeuedAfterKill.reduce((n, e) => n + e.requeued, 0),
};
progress(`its ${orphans.length} mailboxes: leases taken ${((leasesTaken - killedAt) / 1000).toFixed(1)} s after the kill, sessions open ${(takeOver / 1000).toFixed(1)} s (first ${((firstTaken - killedAt) / 1000).toFixed(1)} s); ${JSON.stringify(phases.kill)}`);

// ---- it comes back, and a fourth joins ----
replicas.push(new Replica("replica-3b"));
const settleBack = await until("three replicas again", evenly, 180_000);
progress(`replica-3b (the killed one, started again) took its share in ${(settleBack / 1000).toFixed(1)} s: ${JSON.stringify(counts())}`);
const handedBackBefore = replicas.reduce((n, r) => n + r.handedBack, 0);
const joinedAt = Date.now();
replicas.push(new Replica("replica-4"));
const settle4 = await until("four replicas hold about a quarter each", evenly, 180_000);
const joiner = replicas.at(-1)!;
const atFour = Object.fromEntries(live().map((r) => [r.name, { watching: r.watching.size, ...r.sample()! }]));
phases.join = {
  settledSeconds: round(settle4 / 1000),
  handedBack: replicas.reduce((n, r) => n + r.handedBack, 0) - handedBackBefore,
  joinerWatching: joiner.watching.size,
  firstWatchSeconds: round((Math.min(...[...joiner.watchedAt.values()]) - joinedAt) / 1000),
  counts: counts(),
  atFour,
};
progress(`replica-4 joined: each holds about a quarter after ${(settle4 / 1000).toFixed(1)} s: ${JSON.stringify(counts())}`);

// ---- every mail one ticket ----
await mailer;
progress(`${sent.length} mails delivered; waiting for their tickets`);
const client = new pg.Client({ connectionString: postgres.url });
await client.connect();
const drained = await until(
  "every mail processed",
  async () => Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM email_processed_messages")).rows[0]!.n) >= MAILS,
  600_000,
).catch((error: unknown) => (progress(String(error)), -1));
await sleep(3000); // room for a duplicate to show up
const ticketRows = (await client.query<{ message_id: string; n: number }>("SELECT message_id, count(*)::int AS n FROM tickets GROUP BY message_id")).rows;
const processedRows = Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM email_processed_messages")).rows[0]!.n);
await client.end();
const byId = new Map(ticketRows.map((r) => [r.message_id, r.n]));
const missing = sent.filter((id) => !byId.has(id)).length;
const doubled = ticketRows.filter((r) => r.n > 1).length;
const sentIds = new Set(sent);
const stray = ticketRows.filter((r) => !sentIds.has(r.message_id)).length;
const queueEnd = { ready: await probe.llen(keys.ready), processing: await probe.llen(keys.processing), dlq: await probe.llen(keys.dlq) };
probe.disconnect();
const verdict = { mails: MAILS, tickets: ticketRows.length, processedRows, missing, doubled, stray, queueEnd, ok: missing === 0 && doubled === 0 && stray === 0 && ticketRows.length === MAILS };
progress(`verdict: ${JSON.stringify(verdict)}`);

const resources = replicas.map((r) => {
  const s = steady[r.name] as ({ watching: number } & Sample) | undefined;
  const four = atFour[r.name] as ({ watching: number } & Sample) | undefined;
  return {
    replica: r.name,
    peakRssMb: round(r.peak.rssMb),
    peakFds: r.peak.fds,
    ...(four ? { watchingAtFour: four.watching, rssMbAtFour: round(four.rssMb), fdsAtFour: four.fds } : {}),
    ...(s
      ? {
          steadyWatching: s.watching,
          steadyRssMb: round(s.rssMb),
          steadyFds: s.fds,
          rssKbPerMailbox: round(((s.rssMb - baseline.rssMb) * 1024) / s.watching),
          fdsPerMailbox: round((s.fds - baseline.fds) / s.watching, 2),
        }
      : {}),
  };
});
const report = {
  generatedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
  options: { mailboxes: MAILBOXES, mails: MAILS, rate: RATE, tenants: TENANTS, defaultMailboxes: 1500, defaultMails: 3000 },
  baseline: { rssMb: round(baseline.rssMb), fds: baseline.fds },
  phases,
  resources,
  drainedSeconds: drained < 0 ? null : round(drained / 1000),
  wallSeconds: round((Date.now() - t0) / 1000),
  verdict,
};
process.stdout.write(`\n${markdown(report)}`);
// The default size writes the results; another size only with --write (say, the largest a
// smaller machine manages), and its report names the size.
if ((MAILBOXES === 1500 && MAILS === 3000) || process.argv.includes("--write")) {
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/spread.json", `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync("bench/results/spread.md", markdown(report));
  progress("wrote bench/results/spread.md and bench/results/spread.json");
} else progress("(not the default size: results not written; --write writes them)");

await cleanup.run(progress);
await closeLogs();
if (!process.argv.includes("--keep")) rmSync(dir, { recursive: true, force: true });
else progress(`logs kept in ${dir}`);
process.exit(verdict.ok ? 0 : 1);

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Open IMAP sessions on the run's Dovecot: its imap processes (one per session). */
function imapSessions(): number {
  const master = Number(readFileSync(join(dovecot.dir, "run", "master.pid"), "utf8").trim());
  let n = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8").trim();
      const [, comm = "", rest = ""] = /^\d+ \((.*)\) (.*)$/.exec(stat) ?? [];
      if (comm === "imap" && Number(rest.split(" ")[1]) === master) n++;
    } catch {
      // gone
    }
  }
  return n;
}

function markdown(r: typeof report): string {
  const p = r.phases as { threeReplicas: { settledSeconds: number; counts: Record<string, number>; dovecotSessions: number }; kill: Record<string, unknown> & { counts: Record<string, number> }; join: Record<string, unknown> & { counts: Record<string, number> } };
  const o = r.options;
  const full = o.mailboxes === o.defaultMailboxes && o.mails === o.defaultMails;
  const fmt = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${v}`).join(", ");
  return [
    "# IMAP listener spread across replicas",
    "",
    `${r.generatedAt}, ${r.machine.cpus} × ${r.machine.cpu}, Node ${r.machine.node}. Produced by \`npm run bench:spread\`${full ? "" : ` at a reduced size (\`--mailboxes ${o.mailboxes} --mails ${o.mails}\`; the default is ${o.defaultMailboxes} mailboxes and ${o.defaultMails} mails)`}.`,
    "",
    `${o.mailboxes} IMAP mailboxes (Dovecot, passwd-file users, ${o.tenants} tenants), consumer replicas as processes (\`node consumer/cli/main.ts consumer\`, INLET_HTTP_PORT=0, default settings: IMAP lease ${(p.kill.leaseTtlSeconds as number)} s renewed every third, replica heartbeat ${(p.kill.replicaTtlSeconds as number)} s, claim TTL 10 s, reclaim every 5 s), the Worker under \`wrangler dev\` in front of the REST endpoint, Redis and PostgreSQL of the run's own. ${o.mails} mails dropped into the Maildirs (as an MTA delivers) at ${o.rate}/s from after the first phase until they were all sent; Dovecot announces them to IDLE within a second (\`mailbox_idle_check_interval = 1 secs\`: with one session per mailbox most sessions get no inotify instance here, 128 per user). "Watching" below means the replica logged that the mailbox's IMAP session is open and its folder selected.`,
    "",
    "| phase | result |",
    "|---|---|",
    `| 3 replicas start | each holds its share after ${p.threeReplicas.settledSeconds} s: ${fmt(p.threeReplicas.counts)}; Dovecot IMAP sessions ${p.threeReplicas.dovecotSessions} (one per mailbox) |`,
    `| SIGKILL ${p.kill.killed as string} (${p.kill.orphans as number} mailboxes) | every lease taken by a survivor **${p.kill.leasesTakenSeconds as number} s** after the kill (lease TTL ${p.kill.leaseTtlSeconds as number} s, heartbeat ${p.kill.replicaTtlSeconds as number} s); their IMAP sessions open from ${p.kill.firstWatchedAgainSeconds as number} s, **all ${p.kill.allWatchedAgainSeconds as number} s** after it; then ${fmt(p.kill.counts)} |`,
    `| its claimed jobs | of the ${p.kill.claimsAtKill as number} claims all replicas held at the kill, ${p.kill.killedReplicaClaims as number} (the killed replica's) left processing only by a reclaim${p.kill.killedReplicaClaimsBackBySeconds === null ? "" : `, **the last ${p.kill.killedReplicaClaimsBackBySeconds as number} s after the kill**`}; ${p.kill.claimsStillHeldAfter60s as number} still held a minute later |`,
    `| it restarts, a fourth joins | ${p.join.handedBack as number} leases handed back; each holds about a quarter after ${p.join.settledSeconds as number} s: **${fmt(p.join.counts)}** |`,
    `| every mail one ticket | **${r.verdict.ok ? "yes" : "NO"}**: ${r.verdict.tickets} tickets for ${r.verdict.mails} mails, ${r.verdict.missing} missing, ${r.verdict.doubled} doubled; queue at the end ready ${r.verdict.queueEnd.ready}, processing ${r.verdict.queueEnd.processing}, dead letters ${r.verdict.queueEnd.dlq}${r.drainedSeconds === null ? "" : `; drained ${r.drainedSeconds} s after the last phase`} |`,
    "",
    `Resources (a replica that watches nothing: ${r.baseline.rssMb} MB RSS, ${r.baseline.fds} fds; per mailbox = (steady − that) ÷ mailboxes watched, before any mail):`,
    "",
    "| replica | peak RSS MB | peak fds | watching, 3 replicas | RSS MB | fds | RSS KB per mailbox | fds per mailbox | watching, 4 replicas (mail flowing) | RSS MB | fds |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...r.resources.map((x) => `| ${x.replica} | ${x.peakRssMb} | ${x.peakFds} | ${x.steadyWatching ?? "-"} | ${x.steadyRssMb ?? "-"} | ${x.steadyFds ?? "-"} | ${x.rssKbPerMailbox ?? "-"} | ${x.fdsPerMailbox ?? "-"} | ${x.watchingAtFour ?? "-"} | ${x.rssMbAtFour ?? "-"} | ${x.fdsAtFour ?? "-"} |`),
    "",
    `One run; wall time ${r.wallSeconds} s from the first replica's start. Opening IMAP sessions is what takes longest in a take-over: Dovecot on this machine opens about 70–120 a second (a bare loop of 500 imapflow logins and SELECTs takes 4–7 s here with nothing else running), fewer while the run's other processes are busy.`,
    "",
  ].join("\n");
}
