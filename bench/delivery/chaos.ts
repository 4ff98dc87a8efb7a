// The delivery chaos run: mail is applied (apply_message(), the outbox) into a PostgreSQL database
// at a steady rate, while the real consumer (`inlet consumer`, a child process) delivers the
// events to a receiver that verifies every request with the standardwebhooks package and
//   - answers 500 to a third of the requests, hangs past the timeout on some more,
//   - is down (port closed) for `downMs` from early in the run,
// and the consumer is SIGKILLed `kills` times (one while the receiver is down, the others while
// the backlog drains) and started again. Then, with SQL and the receiver's records:
//   every event arrived (applied by the receiver), each id applied once, per-ticket order held,
//   nothing marked delivered that the receiver did not acknowledge, nothing failed or pending,
//   every request verified.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addEndpoint } from "../../consumer/delivery/endpoints.ts";
import { deliveryCounts } from "../../consumer/delivery/operations.ts";
import { createProcessor } from "../../consumer/processing/processor.ts";
import { Mailboxes } from "../../consumer/store/mailboxes.ts";
import { migrate } from "../../consumer/store/migrations.ts";
import { openPostgres } from "../../consumer/store/postgres.ts";
import { createPostgresDatabase } from "../../test/support/database.ts";
import { uniquePrefix } from "../../test/support/queues.ts";
import { startWebhookReceiver } from "../../test/support/webhook-receiver.ts";
import { sleep } from "../chain/child.ts";
import { consumerGroup } from "../chain/consumer-group.ts";
import { conversationPlan, seeded } from "./plan.ts";

export interface DeliveryChaosOptions {
  root: string;
  mails: number;
  /** Mails applied per second. */
  rate: number;
  seed: number;
  /** How long the receiver is down. */
  downMs: number;
  kills: number;
  redisUrl: string;
  drainTimeoutMs: number;
  progress?: (line: string) => void;
}

export interface DeliveryChaosReport {
  options: Omit<DeliveryChaosOptions, "progress" | "root">;
  wallMs: number;
  events: number;
  requests: { total: number; answered500: number; hung: number; acknowledged: number };
  consumer: { starts: number; kills: number; crashes: number };
  verdict: {
    missing: number;
    appliedMoreThanOnce: number;
    redeliveredAfterAck: number;
    orderViolations: number;
    deliveredNotAcknowledged: number;
    unverified: number;
    pending: number;
    failed: number;
    maxAttempts: number;
    ok: boolean;
  };
  logDir: string;
}

export async function runDeliveryChaos(o: DeliveryChaosOptions): Promise<DeliveryChaosReport> {
  const say = o.progress ?? (() => undefined);
  const started = Date.now();
  const logDir = mkdtempSync(join(tmpdir(), "inlet-delivery-chaos-"));
  const database = await createPostgresDatabase();
  const db = openPostgres(database.url);
  const receiver = await startWebhookReceiver();
  const random = seeded(o.seed);
  let answered500 = 0;
  let hung = 0;
  receiver.behaviour = () => {
    const x = random();
    if (x < 1 / 3) return (answered500++, "error");
    if (x < 1 / 3 + 0.05) return (hung++, "hang");
    return "ok";
  };
  const group = consumerGroup({
    root: o.root,
    logFile: join(logDir, "consumer.log"),
    env: {
      REDIS_URL: o.redisUrl,
      UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: uniquePrefix("delivery-chaos"),
      DATABASE_URL: database.url,
      INLET_IMAP_LISTENER: "0",
      INLET_HTTP_PORT: "0",
      INLET_ALLOW_INSECURE_WEBHOOKS: "1",
      INLET_WEBHOOK_POLL_MS: "100",
      INLET_WEBHOOK_TIMEOUT_MS: "1000",
      INLET_WEBHOOK_LEASE_MS: "3000",
      INLET_WEBHOOK_BACKOFF_BASE_MS: "200",
      INLET_WEBHOOK_BACKOFF_MAX_MS: "4000",
      INLET_WEBHOOK_CONCURRENCY: "8",
    },
  });
  try {
    await migrate(db);
    const box = await new Mailboxes(db).add({ tenantId: "acme", kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    const { secret } = await addEndpoint(db, undefined, { allowInsecureLoopback: true, allowPrivateAddresses: false }, { tenantId: "acme", url: receiver.url });
    receiver.secrets = [secret];
    group.start();
    await group.ready();
    say(`consumer started; applying ${o.mails} mails at ${o.rate}/s`);

    // The faults, on their own timeline beside the mail.
    const processingMs = (o.mails / o.rate) * 1000;
    const downAt = Math.min(2_000, processingMs / 5);
    const faults = (async () => {
      await sleep(downAt);
      await receiver.down();
      say("receiver down");
      await sleep(o.downMs / 2);
      await group.kill();
      say("consumer SIGKILLed (receiver down)");
      group.start();
      await sleep(o.downMs / 2);
      await receiver.up();
      say("receiver up");
      for (let k = 1; k < o.kills; k++) {
        await sleep(1_500);
        await group.kill();
        say("consumer SIGKILLed (backlog draining)");
        group.start();
      }
    })();

    const processor = createProcessor({ db });
    const plan = conversationPlan(o.mails, 4, `s${o.seed}`);
    const t0 = Date.now();
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < plan.length; i++) {
      const due = t0 + (i * 1000) / o.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const mail = plan[i]!;
      inFlight.push(processor.process({ provider: "imap", tenantId: "acme", providerId: box, providerMessageId: `1:${i}`, raw: mail.raw }));
      if (inFlight.length >= 32) await inFlight.shift();
    }
    await Promise.all(inFlight);
    await faults;
    say("every mail applied; waiting for the backlog to drain");

    const [{ n: events } = { n: 0 }] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM delivery_events");
    const deadline = Date.now() + o.drainTimeoutMs;
    while (Date.now() < deadline) {
      const counts = await deliveryCounts(db);
      if (counts.backlog === 0 && new Set(receiver.applied).size >= events) break;
      await sleep(250);
    }
    await group.stop();

    // The verdict.
    const rows = await db.query<{ id: string; ticket_id: number; status: string; attempts: number }>(
      "SELECT e.id, e.ticket_id, d.status, d.attempts FROM delivery_events e JOIN webhook_deliveries d ON d.event_seq = e.seq ORDER BY e.seq",
    );
    const acknowledged = new Set(receiver.applied);
    const position = new Map(receiver.applied.map((id, i) => [id, i]));
    const perTicket = new Map<number, number[]>();
    for (const r of rows) perTicket.set(r.ticket_id, [...(perTicket.get(r.ticket_id) ?? []), position.get(r.id) ?? -1]);
    let orderViolations = 0;
    for (const positions of perTicket.values()) for (let i = 1; i < positions.length; i++) if (positions[i]! < positions[i - 1]!) orderViolations++;
    const appliedCounts = new Map<string, number>();
    for (const id of receiver.applied) appliedCounts.set(id, (appliedCounts.get(id) ?? 0) + 1);
    const verdict = {
      missing: rows.filter((r) => !acknowledged.has(r.id)).length,
      appliedMoreThanOnce: [...appliedCounts.values()].filter((n) => n > 1).length,
      redeliveredAfterAck: receiver.duplicates.length,
      orderViolations,
      deliveredNotAcknowledged: rows.filter((r) => r.status === "delivered" && !acknowledged.has(r.id)).length,
      unverified: receiver.rejected.length,
      pending: rows.filter((r) => r.status === "pending").length,
      failed: rows.filter((r) => r.status === "failed").length,
      maxAttempts: Math.max(0, ...rows.map((r) => r.attempts)),
      ok: false,
    };
    verdict.ok = rows.length === events && events === o.mails && verdict.missing === 0 && verdict.appliedMoreThanOnce === 0 && verdict.orderViolations === 0 && verdict.deliveredNotAcknowledged === 0 && verdict.unverified === 0 && verdict.pending === 0 && verdict.failed === 0 && group.stats.crashes.length === 0;
    const { progress: _p, root: _r, ...options } = o;
    return {
      options,
      wallMs: Date.now() - started,
      events,
      requests: { total: receiver.received.length, answered500, hung, acknowledged: receiver.received.filter((r) => r.answered === "ok").length },
      consumer: { starts: group.stats.starts, kills: group.stats.kills, crashes: group.stats.crashes.length },
      verdict,
      logDir,
    };
  } finally {
    await group.stop().catch(() => undefined);
    await receiver.close();
    await db.close();
    await database.drop();
  }
}
