// What mailbox health and metrics cost processing: the same processor on the same database, side
// by side in one process, with and without what the consumer does around each message for them
// (consumer/app.ts): the fetch and processing timers (timedProcessor), the job counters and rates
// (InletMetrics.settled) and the mailbox health recorder (MailboxHealthRecorder.settled, flushed to
// the database every 5 s in one statement, statuses checked after each flush). Small mail (~5 KB),
// where a fixed cost per message weighs most; PostgreSQL and PGlite, one message at a time.
// Interleaved rounds, which side goes first alternating; the ratio is the median of the rounds'.
// Writes bench/results/operations-cost.md and .json.
//   node bench/operations-cost.ts [--rounds 8] [--messages 400]
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InletMetrics } from "../consumer/metrics/metrics.ts";
import { createProcessor } from "../consumer/processing/processor.ts";
import { createLogger } from "../consumer/runtime/log.ts";
import { MailboxHealthRecorder } from "../consumer/runtime/mailbox-health.ts";
import type { JobObserver } from "../consumer/runtime/settle.ts";
import { timedProcessor } from "../consumer/runtime/timed-processor.ts";
import type { Db } from "../consumer/store/db.ts";
import { HealthStore } from "../consumer/store/health.ts";
import { Mailboxes } from "../consumer/store/mailboxes.ts";
import { migrate } from "../consumer/store/migrations.ts";
import { openPglite } from "../consumer/store/pglite.ts";
import { openPostgres } from "../consumer/store/postgres.ts";
import type { Claim } from "../src/queue/queue.ts";
import { createPostgresDatabase } from "../test/support/database.ts";
import { buildMail } from "../test/support/mail.ts";

const arg = (name: string, fallback: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
const ROUNDS = arg("rounds", 8);
const MESSAGES = arg("messages", 400);
const body = "Our VPN client drops the connection every few minutes since the update. ".repeat(63);

type Side = "plain" | "observed";
interface Row {
  backend: string;
  plain: number;
  observed: number;
  ratio: number;
  rounds: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (n: number) => Math.round(n * 100) / 100;

async function scenario(backend: "postgres" | "pglite"): Promise<Row> {
  let db: Db;
  let drop: () => Promise<void>;
  if (backend === "postgres") {
    const created = await createPostgresDatabase();
    db = openPostgres(created.url);
    drop = async () => (await db.close(), await created.drop());
  } else {
    const dir = mkdtempSync(join(tmpdir(), "inlet-bench-ops-"));
    db = await openPglite(dir);
    drop = async () => (await db.close(), rmSync(dir, { recursive: true, force: true }));
  }
  try {
    await migrate(db);
    const mailboxes = new Mailboxes(db);
    const providerId = await mailboxes.add({ tenantId: "bench", kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    const processor = createProcessor({ db });
    const metrics = new InletMetrics({ processMetrics: false });
    const health = new MailboxHealthRecorder({ store: new HealthStore(db), listMailboxes: () => mailboxes.list(), log: createLogger({ level: "warn" }) });
    health.start();
    const observers: JobObserver[] = [metrics, health];
    const run = async (side: Side, tag: string, count: number) => {
      const started = performance.now();
      for (let i = 0; i < count; i++) {
        const raw = buildMail({ id: `${tag}-${i}@bench.example`, from: `customer${i % 250}@example.org`, subject: `Request ${i}`, body });
        const message = { provider: "imap" as const, tenantId: "bench", providerId, providerMessageId: `${tag}:${i}`, raw };
        if (side === "plain") {
          await processor.process(message);
          continue;
        }
        const jobStarted = Date.now();
        await timedProcessor(processor, "imap", metrics).process(message);
        const claim = { jobId: `${tag}:${i}`, token: "t", delivery: 1, leaseUntil: 0, job: { jobId: `${tag}:${i}`, schemaVersion: 1, provider: "imap", tenantId: "bench", providerId, enqueuedAt: jobStarted, attempt: 0, pointer: { mailbox: "INBOX", uidValidity: "1", uid: i + 1 } } } as Claim;
        for (const o of observers) o.settled(claim, { outcome: "processed", messages: 1 }, Date.now() - jobStarted);
      }
      return count / ((performance.now() - started) / 1000);
    };
    await run("plain", "warm-p", 100);
    await run("observed", "warm-o", 100);
    const rounds: { plain: number; observed: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order: Side[] = r % 2 === 0 ? ["plain", "observed"] : ["observed", "plain"];
      const rates = {} as Record<Side, number>;
      for (const side of order) rates[side] = await run(side, `${side}-${r}`, MESSAGES);
      rounds.push(rates);
      process.stdout.write(`${backend} round ${r + 1}: plain ${rates.plain.toFixed(1)}/s observed ${rates.observed.toFixed(1)}/s (${r2(rates.observed / rates.plain)})\n`);
    }
    await health.stop();
    const [stored] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM mailbox_health WHERE last_processed_at IS NOT NULL");
    if (stored!.n !== 1) throw new Error("the health recorder stored nothing: the observed side did not do its work");
    const ratios = rounds.map((r) => r2(r.observed / r.plain));
    return { backend, plain: Math.round(median(rounds.map((r) => r.plain))), observed: Math.round(median(rounds.map((r) => r.observed))), ratio: median(ratios), rounds: ratios };
  } finally {
    await drop();
  }
}

/** The observers' own time per message, alone: a processor that does nothing, so only the timers,
 * the counters and the recorder's map update are left (the flush is not in it: one statement per
 * 5 s, whatever the rate). */
async function overheadPerMessageUs(count: number): Promise<number> {
  const metrics = new InletMetrics({ processMetrics: false });
  const health = new MailboxHealthRecorder({ store: new HealthStore({ query: async () => [] }), listMailboxes: async () => [], log: createLogger({ level: "warn" }) });
  const observers: JobObserver[] = [metrics, health];
  const nothing = { process: async () => ({ outcome: "processed" as const, effect: "ticket" as const }) };
  const message = { provider: "imap" as const, tenantId: "bench", providerId: "p", providerMessageId: "m", raw: new Uint8Array(0) };
  const measure = async (observed: boolean) => {
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      if (!observed) {
        await nothing.process();
        continue;
      }
      await timedProcessor(nothing, "imap", metrics).process(message);
      const claim = { jobId: `j${i}`, token: "t", delivery: 1, leaseUntil: 0, job: { jobId: `j${i}`, schemaVersion: 1, provider: "imap", tenantId: "bench", providerId: `p${i % 500}`, enqueuedAt: Date.now(), attempt: 0, pointer: { mailbox: "INBOX", uidValidity: "1", uid: i + 1 } } } as Claim;
      for (const o of observers) o.settled(claim, { outcome: "processed", messages: 1 }, 1);
    }
    return ((performance.now() - started) * 1000) / count;
  };
  await measure(true);
  const samples = [];
  for (let r = 0; r < 5; r++) samples.push((await measure(true)) - (await measure(false)));
  return median(samples);
}

const generatedAt = new Date().toISOString();
const overheadUs = await overheadPerMessageUs(200_000);
process.stdout.write(`observers alone: ${overheadUs.toFixed(2)} µs per message\n`);
const rows = [await scenario("postgres"), await scenario("pglite")];
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown"}, Node ${process.version}`;
const md = `# What mailbox health and metrics cost processing

${generatedAt}, ${machine}, PostgreSQL 15 on loopback and PGlite on disk. Produced by \`node bench/operations-cost.ts --rounds ${ROUNDS} --messages ${MESSAGES}\`.

Messages per second through the same processor on the same database, one message at a time, small mail (~5 KB: where a
fixed cost per message weighs most). **plain**: \`processor.process\` alone. **observed**: what the consumer does around each
message for health and metrics: the fetch and processing timers, the job counter and rates, the mailbox health recorder
(in memory, stored every 5 s in one statement with a status check after it). ${ROUNDS} interleaved rounds of ${MESSAGES} messages
each side (which side goes first alternates); rates are each side's median round, the ratio the median of the rounds' ratios.

| backend | plain msg/s | observed msg/s | observed / plain | each round | observers' share of a message's time |
|---|---:|---:|---:|---|---:|
${rows.map((r) => `| ${r.backend} | ${r.plain} | ${r.observed} | **${Math.round(r.ratio * 100)}%** | ${r.rounds.map((x) => `${Math.round(x * 100)}%`).join(", ")} | ${((overheadUs / (1e6 / r.plain)) * 100).toFixed(2)}% |`).join("\n")}

The observers' own time, measured alone (200,000 messages through a processor that does nothing, with and without them,
median of 5): **${overheadUs.toFixed(2)} µs per message**. The last column sets it against the plain side's time per message.
`;
writeFileSync("bench/results/operations-cost.json", `${JSON.stringify({ generatedAt, machine, rounds: ROUNDS, messages: MESSAGES, observerMicrosecondsPerMessage: Math.round(overheadUs * 100) / 100, rows }, null, 2)}\n`);
writeFileSync("bench/results/operations-cost.md", md);
process.stdout.write(md);
