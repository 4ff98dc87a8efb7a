// GET /metrics of a real consumer (startConsumerApp on Redis, PostgreSQL and the Graph fake),
// read with a strict parser of the Prometheus text format: every series the README names is
// there, and each moves with what happens (mail processed, a dead letter, a provider error, jobs
// waiting, a sweep that finds mail, a subscription's expiry, webhook deliveries backing up).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMail } from "../../support/mail.ts";
import { parsePrometheusText, valueOf, type Family } from "../../support/prometheus-text.ts";
import { MAILBOX, startOperatedConsumer, testPort, untilDeadLettered, type OperatedConsumer } from "../../support/operated-consumer.ts";
import { CREATE_DELIVERIES, TableDeliveries } from "../../support/table-deliveries.ts";
import { until } from "../../support/until.ts";

const deliveries = new TableDeliveries();
let c: OperatedConsumer;

beforeAll(async () => {
  // No prefetch, two slots: jobs beyond two wait in the ready list, where the queue gauges see them.
  c = await startOperatedConsumer({ port: testPort(120), env: { INLET_PREFETCH: "0" }, parts: { deliveries } });
  await c.app.db.query(CREATE_DELIVERIES);
  deliveries.db = c.app.db;
}, 120_000);

afterAll(async () => c?.close());

async function scrape(): Promise<Map<string, Family>> {
  const response = await fetch(`${c.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

const NAMED = [
  ["inlet_queue_jobs", "gauge"],
  ["inlet_queue_oldest_ready_age_seconds", "gauge"],
  ["inlet_jobs_total", "counter"],
  ["inlet_processing_duration_seconds", "histogram"],
  ["inlet_fetch_duration_seconds", "histogram"],
  ["inlet_provider_api_requests_total", "counter"],
  ["inlet_provider_api_errors_total", "counter"],
  ["inlet_mailbox_subscription_expiry_seconds", "gauge"],
  ["inlet_mailbox_last_notification_age_seconds", "gauge"],
  ["inlet_mailbox_last_processed_age_seconds", "gauge"],
  ["inlet_mailbox_consecutive_failures", "gauge"],
  ["inlet_mailbox_status", "gauge"],
  ["inlet_mailbox_last_sweep_found_messages", "gauge"],
  ["inlet_reconcile_sweeps_total", "counter"],
  ["inlet_reconcile_found_total", "counter"],
  ["inlet_webhook_deliveries_backlog", "gauge"],
  ["inlet_webhook_deliveries_failed", "gauge"],
  ["inlet_scrape_source_up", "gauge"],
] as const;

describe("GET /metrics", () => {
  it("is valid Prometheus text in which every named series is present and moves", async () => {
    const mailbox = { provider_id: c.providerId };
    const before = await scrape();
    for (const [name, type] of NAMED) expect(before.get(name)?.type, name).toBe(type);
    for (const family of before.keys()) expect(family).toMatch(/^inlet_/);
    expect(valueOf(before, "inlet_queue_jobs", { state: "dead_letter" })).toBe(0);
    expect(valueOf(before, "inlet_webhook_deliveries_backlog")).toBe(0);
    expect(valueOf(before, "inlet_mailbox_last_notification_age_seconds", mailbox)).toBeUndefined();
    const expiryBefore = valueOf(before, "inlet_mailbox_subscription_expiry_seconds", mailbox)!;
    expect(expiryBefore).toBeGreaterThan(24 * 3600);

    // Mail processed, then a message Graph refuses (400: dead-lettered at once).
    await c.deliver("Processed");
    await until(async () => (await c.tickets()) === 1, 20_000, "the first ticket");
    const { jobId } = await c.deliver("Refused", { fault: { status: 400 } });
    await untilDeadLettered(c, jobId);

    // Four slow fetches for two slots: two wait in the ready list, ageing.
    for (let i = 0; i < 4; i++) await c.deliver(`Slow ${i}`, { fault: { delayMs: 1500 } });
    let waiting!: Map<string, Family>;
    await until(async () => {
      waiting = await scrape();
      return (valueOf(waiting, "inlet_queue_jobs", { state: "ready" }) ?? 0) >= 1 && (valueOf(waiting, "inlet_queue_oldest_ready_age_seconds") ?? 0) > 0;
    }, 10_000, "jobs waiting in the ready list");
    expect(valueOf(waiting, "inlet_queue_jobs", { state: "processing" })).toBeGreaterThanOrEqual(1);
    await until(async () => (await c.tickets()) === 5, 30_000, "the slow mail's tickets");

    // Mail no notification announced, ten minutes old: the next sweep finds it.
    await c.app.mailboxes.updateCursors(c.providerId, { graphDeltaSince: new Date(Date.now() - 3600_000).toISOString() });
    c.graph.addMessage(MAILBOX, buildMail({ id: "unannounced@customer.example", subject: "Unannounced" }), undefined, new Date(Date.now() - 600_000));
    const reports = await c.app.reconciler.tick(Date.now() + 2 * 3600_000);
    expect(reports).toEqual([expect.objectContaining({ providerId: c.providerId, found: 1 })]);

    // The subscription is about to lapse; webhook deliveries back up and one gives up.
    await c.app.mailboxes.updateCursors(c.providerId, { graphSubscriptionExpiresAt: new Date(Date.now() + 3600_000).toISOString() });
    await deliveries.add("pending");
    await deliveries.add("failed", "ticket.replied", "HTTP 500 from the endpoint");

    let after!: Map<string, Family>;
    await until(async () => {
      after = await scrape();
      return valueOf(after, "inlet_mailbox_last_notification_age_seconds", mailbox) !== undefined && (valueOf(after, "inlet_jobs_total", { outcome: "processed" }) ?? 0) >= 6;
    }, 20_000, "the health flush and the swept mail's job");
    const provider = { provider: "microsoft" };
    expect(valueOf(after, "inlet_jobs_total", { ...provider, outcome: "processed" })).toBeGreaterThanOrEqual(6);
    expect(valueOf(after, "inlet_jobs_total", { ...provider, outcome: "dead_letter" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(after, "inlet_processing_duration_seconds_count", provider)).toBeGreaterThanOrEqual(6);
    expect(valueOf(after, "inlet_fetch_duration_seconds_count", provider)).toBeGreaterThanOrEqual(6);
    // The slow fetches took 1.5 s: they are above the 1 s bucket.
    expect(valueOf(after, "inlet_fetch_duration_seconds_count", provider)! - valueOf(after, "inlet_fetch_duration_seconds_bucket", { ...provider, le: "1" })!).toBeGreaterThanOrEqual(4);
    expect(valueOf(after, "inlet_provider_api_errors_total", { provider: "microsoft", code: "microsoft_fetch_http_400" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(after, "inlet_provider_api_requests_total", { provider: "microsoft" })).toBeGreaterThan(6);
    expect(valueOf(after, "inlet_queue_jobs", { state: "dead_letter" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(after, "inlet_reconcile_found_total", { kind: "microsoft" })).toBe(1);
    expect(valueOf(after, "inlet_reconcile_sweeps_total", { kind: "microsoft", result: "ok" })).toBe(1);
    expect(valueOf(after, "inlet_mailbox_last_sweep_found_messages", mailbox)).toBe(1);
    const expiryAfter = valueOf(after, "inlet_mailbox_subscription_expiry_seconds", mailbox)!;
    expect(expiryAfter).toBeLessThanOrEqual(3600);
    expect(expiryAfter).toBeGreaterThan(3000);
    expect(valueOf(after, "inlet_mailbox_last_notification_age_seconds", mailbox)).toBeGreaterThanOrEqual(0);
    expect(valueOf(after, "inlet_mailbox_last_processed_age_seconds", mailbox)).toBeGreaterThanOrEqual(0);
    expect(valueOf(after, "inlet_mailbox_status", { ...mailbox, status: "degraded" })).toBe(1);
    expect(valueOf(after, "inlet_mailbox_status", { ...mailbox, status: "healthy" })).toBe(0);
    expect(valueOf(after, "inlet_webhook_deliveries_backlog")).toBe(1);
    expect(valueOf(after, "inlet_webhook_deliveries_failed")).toBe(1);
    expect(valueOf(after, "inlet_scrape_source_up", { source: "deliveries" })).toBe(1);
  });

  it("the strict parser refuses what is not the text format", () => {
    expect(() => parsePrometheusText("inlet_x 1\n")).toThrow(/before its TYPE/);
    expect(() => parsePrometheusText('# TYPE inlet_x gauge\ninlet_x{a="b} 1\n')).toThrow(/not closed/);
    expect(() => parsePrometheusText("# TYPE inlet_x gauge\ninlet_x one\n")).toThrow(/not a float/);
    expect(() => parsePrometheusText('# TYPE inlet_h histogram\ninlet_h_bucket{le="1"} 2\ninlet_h_bucket{le="+Inf"} 1\ninlet_h_sum 1\ninlet_h_count 1\n')).toThrow(/decrease/);
  });
});
