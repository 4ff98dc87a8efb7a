// `npm run bench:delivery` → bench/results/delivery.md and delivery.json: ticket committed →
// webhook received, at a steady 100 mails/s, and the CPU a mail costs with delivery on against
// delivery off, on PostgreSQL.
//   One process applies mail as the consumer does (createProcessor: parse, apply_message() with
//   its outbox rows) and, when delivery is on, runs the consumer's deliverer, woken by the
//   processor after each commit as in the consumer. A receiver in its own process verifies every
//   request with standardwebhooks and stamps its arrival. Latency: arrival − the moment the
//   processing call returned (just after its commit). CPU per mail: this process plus the
//   PostgreSQL backends of its database, from the first mail to the last event received (on) or
//   the last mail committed (off).
//   Rounds interleave on and off (default 3 each); each figure is the median round, every round shown.
//   node bench/delivery.ts [--mails 1000] [--rate 100] [--rounds 3]   (other sizes print, do not write)
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { createInterface } from "node:readline";
import { deliveryConfig } from "../consumer/config.ts";
import { Deliverer } from "../consumer/delivery/deliverer.ts";
import { addEndpoint } from "../consumer/delivery/endpoints.ts";
import { createProcessor } from "../consumer/processing/processor.ts";
import { createLogger } from "../consumer/runtime/log.ts";
import { Mailboxes } from "../consumer/store/mailboxes.ts";
import { migrate } from "../consumer/store/migrations.ts";
import { openPostgres } from "../consumer/store/postgres.ts";
import { createPostgresDatabase } from "../test/support/database.ts";
import { sleep } from "./chain/child.ts";
import { conversationPlan } from "./delivery/plan.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MAILS = arg("mails", 1000);
const RATE = arg("rate", 100);
const ROUNDS = arg("rounds", 3);
const full = MAILS === 1000 && RATE === 100 && ROUNDS >= 3;
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Round {
  delivery: "on" | "off";
  mails: number;
  offeredRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  received: number;
  cpuMsPerMail: number;
  consumerCpuMsPerMail: number;
  postgresCpuMsPerMail: number;
}

const TICKS_PER_SECOND = 100;
function cpuMsOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : null);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

// The receiver process.
const receiverProcess = spawn(process.execPath, ["bench/delivery/receiver-process.ts"], { stdio: ["pipe", "pipe", "inherit"] });
const arrivals = new Map<string, number>();
const receiverUrl = await new Promise<string>((resolve) => {
  createInterface({ input: receiverProcess.stdout! }).on("line", (line) => {
    const m = JSON.parse(line) as { url?: string; messageId?: string; at?: number };
    if (m.url) resolve(m.url);
    else if (m.messageId && m.at !== undefined && !arrivals.has(m.messageId)) arrivals.set(m.messageId, m.at);
  });
});

async function round(index: number, delivery: "on" | "off"): Promise<Round> {
  const database = await createPostgresDatabase();
  const db = openPostgres(database.url);
  let deliverer: Deliverer | undefined;
  try {
    await migrate(db);
    const box = await new Mailboxes(db).add({ tenantId: "bench", kind: "imap", address: "support@bench.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    const config = deliveryConfig({ INLET_ALLOW_INSECURE_WEBHOOKS: "1" }); // the defaults otherwise (poll 1 s, woken after each commit)
    if (delivery === "on") {
      const { secret } = await addEndpoint(db, undefined, { allowInsecureLoopback: true, allowPrivateAddresses: false }, { tenantId: "bench", url: receiverUrl });
      receiverProcess.stdin!.write(`secret ${secret}\n`);
      deliverer = new Deliverer({ db, secrets: undefined, config, render: { publicUrl: "http://127.0.0.1:8080", inlineMaxBytes: 0 }, log: createLogger({ level: "warn" }) });
      deliverer.start();
    }
    const processor = createProcessor({ db, onDeliveriesQueued: () => deliverer?.nudge() });
    const plan = conversationPlan(MAILS, 4, `r${index}`);
    // Warm the pool's connections and their prepared statements before measuring.
    await Promise.all(Array.from({ length: 10 }, () => db.query("SELECT 1")));
    const backends = (await db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).map((r) => r.pid);
    const commits = new Map<string, number>();
    const cpu0 = { own: ownCpuMs(), pg: cpuMsOf(backends) };
    const t0 = performance.now();
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < plan.length; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const mail = plan[i]!;
      const p = processor.process({ provider: "imap", tenantId: "bench", providerId: box, providerMessageId: `1:${i}`, raw: mail.raw }).then(() => void commits.set(mail.messageId, performance.timeOrigin + performance.now()));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await Promise.all(inFlight);
    const offeredRate = MAILS / ((performance.now() - t0) / 1000);
    if (delivery === "on") {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && plan.some((m) => !arrivals.has(m.messageId))) await sleep(5);
    }
    const allBackends = (await db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).map((r) => r.pid);
    const cpu1 = { own: ownCpuMs(), pg: cpuMsOf(allBackends) };
    const latencies = delivery === "on" ? plan.flatMap((m) => (arrivals.has(m.messageId) && commits.has(m.messageId) ? [arrivals.get(m.messageId)! - commits.get(m.messageId)!] : [])).sort((a, b) => a - b) : [];
    const own = (cpu1.own - cpu0.own) / MAILS;
    const pg = (cpu1.pg - cpu0.pg) / MAILS;
    const r: Round = {
      delivery,
      mails: MAILS,
      offeredRate: Math.round(offeredRate),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1) ?? null,
      received: latencies.length,
      cpuMsPerMail: own + pg,
      consumerCpuMsPerMail: own,
      postgresCpuMsPerMail: pg,
    };
    say(`round ${index} delivery ${delivery}: ${JSON.stringify(r)}`);
    return r;
  } finally {
    await deliverer?.stop();
    await db.close();
    await database.drop();
  }
}

const rounds: Round[] = [];
try {
  for (let i = 0; i < ROUNDS; i++) {
    rounds.push(await round(2 * i, "on"));
    rounds.push(await round(2 * i + 1, "off"));
  }
} finally {
  receiverProcess.kill("SIGTERM");
}

const on = rounds.filter((r) => r.delivery === "on");
const off = rounds.filter((r) => r.delivery === "off");
const ratios = on.map((r, i) => r.cpuMsPerMail / off[i]!.cpuMsPerMail);
const summary = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "?", loadavg: loadavg().map((x) => Number(x.toFixed(1))) },
  mails: MAILS,
  rate: RATE,
  p50Ms: median(on.map((r) => r.p50Ms ?? Infinity)),
  p99Ms: median(on.map((r) => r.p99Ms ?? Infinity)),
  cpuMsPerMailOn: median(on.map((r) => r.cpuMsPerMail)),
  cpuMsPerMailOff: median(off.map((r) => r.cpuMsPerMail)),
  cpuRatio: median(ratios),
  ratios,
  rounds,
};
say(JSON.stringify({ p50Ms: summary.p50Ms, p99Ms: summary.p99Ms, cpuRatio: summary.cpuRatio }));
const f = (x: number | null) => (x === null ? "-" : x.toFixed(1));
const md = `# Delivery benchmark

\`npm run bench:delivery\` (bench/delivery.ts) on ${summary.date.slice(0, 10)}: ${summary.machine.cpus} × ${summary.machine.model}, shared with other runs (load average at the end ${summary.machine.loadavg.join(", ")}).

${MAILS} mails per round (conversations of 4: a ticket and three replies) offered at a steady ${RATE}/s to the consumer's processing
on PostgreSQL 15, one webhook endpoint; a receiver in its own process verifies each request with standardwebhooks. Latency:
**ticket (or reply) committed → webhook received**. CPU per mail: the processing process plus its PostgreSQL backends, delivery on
against off, in ${ROUNDS} interleaved rounds each; each figure the median round.

| | result | goal |
|---|---|---|
| committed → received, p50 | ${f(summary.p50Ms)} ms | |
| committed → received, p99 | ${f(summary.p99Ms)} ms | < 500 ms |
| CPU per mail, delivery off | ${f(summary.cpuMsPerMailOff)} ms | |
| CPU per mail, delivery on | ${f(summary.cpuMsPerMailOn)} ms | |
| on / off | ${summary.cpuRatio.toFixed(2)} (rounds ${ratios.map((x) => x.toFixed(2)).join(", ")}) | ≤ 1.10 |

| round | delivery | offered/s | p50 ms | p99 ms | max ms | received | CPU ms/mail (process + PostgreSQL) |
|---|---|---|---|---|---|---|---|
${rounds.map((r, i) => `| ${i + 1} | ${r.delivery} | ${r.offeredRate} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${f(r.maxMs)} | ${r.delivery === "on" ? r.received : "-"} | ${r.cpuMsPerMail.toFixed(2)} (${r.consumerCpuMsPerMail.toFixed(2)} + ${r.postgresCpuMsPerMail.toFixed(2)}) |`).join("\n")}
`;
if (full) {
  writeFileSync("bench/results/delivery.json", `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync("bench/results/delivery.md", md);
  say("wrote bench/results/delivery.md and delivery.json");
} else say(md);
process.exit(0);
