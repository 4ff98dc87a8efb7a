// `npm run chaos`: the chaos run of bench/chain/chaos.ts at full size, its report in
// bench/results/chaos.md and chaos.json.
//   node bench/chaos.ts [--mails 10000] [--rate 100] [--seed 1] [--poisoned 5] [--keep]
// Only the full run (10,000 mails) writes the results; other sizes print them. Exit code 1 when a
// check failed (the report says which, and the run's logs are kept).
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { Cleanup } from "./chain/cleanup.ts";
import { CHAOS_CONSUMER_ENV, runChaos, type ChaosReport } from "./chain/chaos.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const FULL = 10_000;
const mails = arg("mails", FULL);
const progress = (line: string) => process.stdout.write(`${line}\n`);
const cleanup = new Cleanup();
cleanup.onSignals(progress);

// --render FILE: write chaos.md again from a chaos.json (the report's text changed, the run did not).
const renderFrom = process.argv.includes("--render") ? process.argv[process.argv.indexOf("--render") + 1] : undefined;
if (renderFrom) {
  writeFileSync("bench/results/chaos.md", markdown(JSON.parse(readFileSync(renderFrom, "utf8")) as ChaosReport));
  progress("wrote bench/results/chaos.md");
  process.exit(0);
}

const report = await runChaos({
  root: process.cwd(),
  mails,
  rate: arg("rate", 100),
  seed: arg("seed", 1),
  poisoned: arg("poisoned", 5),
  dropShare: 0.1,
  killEveryMs: [2000, 4000],
  faults: { redisAt: 0.25, postgresAt: 0.5, restAt: 0.75, downMs: 2000 },
  drainTimeoutMs: arg("drain-timeout-s", 600) * 1000,
  consumerEnv: CHAOS_CONSUMER_ENV,
  keepDir: process.argv.includes("--keep"),
  progress,
  cleanup,
}).catch((error: unknown) => {
  process.stderr.write(`chaos run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

const json = `${JSON.stringify({ machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version }, ...report }, null, 2)}\n`;
process.stdout.write(`\n${markdown(report)}`);
if (mails === FULL) {
  writeFileSync("bench/results/chaos.json", json);
  writeFileSync("bench/results/chaos.md", markdown(report));
  progress("wrote bench/results/chaos.md and bench/results/chaos.json");
} else progress(`(${mails} mails: not the full run, results not written)`);
const ok = report.verdict.ok && report.drained && report.consumer.crashes.length === 0;
if (!ok) progress(`CHECKS FAILED; logs kept in ${report.dir}`);
process.exit(ok ? 0 : 1);

/** What a crash log says killed it: the error line and its code (no mail content is logged). */
function causeOf(lines: readonly string[]): string {
  const error = lines.find((l) => /^(\w*Error|error)\b.*:/.test(l.trim())) ?? lines.find((l) => /"level":(50|60)/.test(l));
  const code = lines.map((l) => /^\s*code: '([^']+)'/.exec(l)?.[1]).find((c) => c);
  if (!error) return `the last log lines name error code ${code ?? "(none)"}; see the consumer log`;
  return `${error.trim().slice(0, 200)}${code ? ` (${code})` : ""}`;
}

function markdown(r: ChaosReport): string {
  const v = r.verdict;
  const o = r.options;
  const kills = r.faults.filter((f) => f.what.startsWith("consumer")).length;
  const others = r.faults.filter((f) => !f.what.startsWith("consumer"));
  return [
    "# Chaos run",
    "",
    `${r.generatedAt}, ${cpus().length} × ${cpus()[0]?.model ?? "unknown"}, Node ${process.version}. Produced by \`npm run chaos\` (seed ${o.seed}).`,
    "",
    `${o.mails} mails across Microsoft 365 (Graph fake), Gmail (Gmail fake, Pub/Sub push) and IMAP (Dovecot, the consumer's IMAP listener), a third each, offered at ${o.rate} mails/s; about a quarter replies to an earlier mail (In-Reply-To and References), ${o.poisoned} Graph mails poisoned (every fetch answers 500). Everything a separate process: the Worker under \`wrangler dev\`, the REST endpoint, Redis (append-only, everysec), a PostgreSQL cluster of the run's own, the consumer (concurrency 8) as a process group.`,
    `During the load: the consumer's process group SIGKILLed every ${o.killEveryMs[0] / 1000}–${o.killEveryMs[1] / 1000} s and restarted (${kills} times), ${others.map((f) => `${f.what} at ${(f.at / 1000).toFixed(0)} s`).join(", ")} (each down ${o.faults.downMs / 1000} s); ${Math.round(o.dropShare * 100)}% of Graph and Gmail notifications dropped (${r.delivery.droppedGraph} Graph, ${r.delivery.droppedGmail} Gmail), so only the reconciliation sweep finds those mails. Notifications the edge refused with a 5xx were sent again as the providers do (${r.delivery.resent} resends, ${r.delivery.givenUp} given up and left to the sweep).`,
    `Consumer settings: ${Object.entries(o.consumerEnv).map(([k, val]) => `\`${k}=${val}\``).join(", ")} (shorter than the defaults so the run ends in minutes: leases of killed consumers come back in seconds, the poisoned mails' retries fit the run, and the sweep runs every few seconds).`,
    "",
    "| check | result |",
    "|---|---:|",
    `| lost (no processed row) | **${v.lost}** |`,
    `| duplicated (two tickets/comments for one mail, or a poisoned mail processed) | **${v.duplicated}** |`,
    `| mis-threaded (a reply not on its parent's ticket) | **${v.misThreaded}** |`,
    `| conversations split over several tickets | ${v.splitConversations} |`,
    `| processed rows / expected | ${v.processedRows} / ${v.expectedProcessed} |`,
    `| tickets / expected | ${v.tickets.actual} / ${v.tickets.expected} |`,
    `| comments / expected | ${v.comments.actual} / ${v.comments.expected} |`,
    `| documents / expected (duplicated, missing) | ${v.documents.actual} / ${v.documents.expected} (${v.documents.duplicated}, ${v.documents.missing}) |`,
    `| dead-lettered (poisoned found / poisoned) | **${v.deadLetters.total}** (${v.deadLetters.poisonedFound} / ${v.deadLetters.poisoned}) |`,
    `| attempts of each poisoned dead letter (goal ${o.consumerEnv.UNIFIED_INBOUND_EMAIL_QUEUE_MAX_ATTEMPTS}) | ${v.deadLetters.attempts.join(", ") || "-"} |`,
    `| fetches the Graph fake refused per poisoned mail | ${v.deadLetters.fetchesPerPoisoned.join(", ") || "-"} |`,
    `| queue at the end (ready, processing, inflight, delayed) | ${v.queue.ready}, ${v.queue.processing}, ${v.queue.inflight}, ${v.queue.delayed} |`,
    `| deliveries per job, jobs not dead-lettered (deliveries: jobs) | ${Object.entries(r.deliveriesPerJob?.others ?? {}).map(([n, c]) => `${n}: ${c}`).join(", ") || "-"} |`,
    `| consumer crashes (exits the harness did not cause) | ${r.consumer.crashes.length} |`,
    `| consumer starts that failed while a dependency was down | ${r.consumer.startFailures} |`,
    `| wall time (first mail to drained${r.drained ? "" : ", NOT drained"}) | **${r.wallSeconds} s** (load ${r.loadSeconds} s, drain ${r.drainSeconds} s) |`,
    `| mails/s over the wall time | **${r.mailsPerSecond}** |`,
    "",
    `Verdict: **${v.ok && r.drained && r.consumer.crashes.length === 0 ? "every check passed" : "FAILED"}**.`,
    "",
    ...(r.consumer.errors.length
      ? ["Error lines the consumer logged (event, code: count):", "", ...r.consumer.errors.map((e) => `- \`${e.event}\` ${e.code || "(no code)"}: ${e.count} — ${e.message.replace(/\n/g, " ").slice(0, 160)}`), ""]
      : []),
    ...(r.consumer.crashes.length ? ["Consumer crashes (the harness restarted it each time):", "", ...r.consumer.crashes.slice(0, 5).map((c) => `- ${c.at}: exit code ${c.code}, signal ${c.signal}: \`${causeOf(c.lastLines)}\``), ""] : []),
  ].join("\n");
}
