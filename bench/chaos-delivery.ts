// `npm run chaos:delivery`: the delivery chaos run (bench/delivery/chaos.ts) at full size, its
// report in bench/results/delivery-chaos.md and .json.
//   node bench/chaos-delivery.ts [--mails 1000] [--rate 100] [--seed 1] [--down-ms 30000] [--kills 2]
// Only the full run (1,000 mails, 30 s down) writes the results; other sizes print them. Exit
// code 1 when a check failed.
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { runDeliveryChaos, type DeliveryChaosReport } from "./delivery/chaos.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const options = { mails: arg("mails", 1000), rate: arg("rate", 100), seed: arg("seed", 1), downMs: arg("down-ms", 30_000), kills: arg("kills", 2) };
const full = options.mails === 1000 && options.downMs === 30_000 && options.kills >= 2;
const report = await runDeliveryChaos({ root: process.cwd(), ...options, redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", drainTimeoutMs: 300_000, progress: (line) => process.stdout.write(`${line}\n`) });

function markdown(r: DeliveryChaosReport): string {
  const v = r.verdict;
  return `# Delivery chaos run

\`npm run chaos:delivery\` (bench/delivery/chaos.ts) on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores shared with other runs.

${r.options.mails} mails (${r.options.mails / 4} conversations of 4: a ticket and three replies) applied at ${r.options.rate}/s into PostgreSQL while the
consumer (\`inlet consumer\`, a child process) delivered their events to a receiver that verified every request with
the \`standardwebhooks\` package, answered 500 to a third of the requests and hung past the 1 s timeout on 5% more,
and was down (port closed) for ${r.options.downMs / 1000} s; the consumer was SIGKILLed ${r.consumer.kills} times (once while the receiver was down,
then while the backlog drained) and started again. Seed ${r.options.seed}.

| check | result |
|---|---|
| events written | ${r.events} (one per mail) |
| events never applied by the receiver | ${v.missing} |
| ids applied more than once | ${v.appliedMoreThanOnce} |
| per-ticket order violations | ${v.orderViolations} |
| marked delivered, not acknowledged by the receiver | ${v.deliveredNotAcknowledged} |
| requests no secret verified | ${v.unverified} |
| pending / failed at the end | ${v.pending} / ${v.failed} |
| consumer crashes (exits nobody caused) | ${r.consumer.crashes} |
| **verdict** | **${v.ok ? "ok" : "FAILED"}** |

Requests: ${r.requests.total} verified (${r.requests.answered500} answered 500, ${r.requests.hung} hung, ${r.requests.acknowledged} acknowledged); an id delivered again
after its acknowledgement (a kill between the receiver's 2xx and the commit of "delivered", or a lease that ran out) happened
${v.redeliveredAfterAck} times, and the receiver applied each id once. The most attempts one delivery took: ${v.maxAttempts}. Wall time ${(r.wallMs / 1000).toFixed(0)} s.
`;
}

process.stdout.write(`${JSON.stringify(report.verdict)}\n`);
if (full) {
  writeFileSync("bench/results/delivery-chaos.json", `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync("bench/results/delivery-chaos.md", markdown(report));
  process.stdout.write("wrote bench/results/delivery-chaos.md and .json\n");
} else process.stdout.write(markdown(report));
process.exit(report.verdict.ok ? 0 : 1);
