// Prometheus metrics (prom-client, a registry of Inlet's own; every series named `inlet_*`).
// Two kinds:
//   - counted as things happen, in memory, on this replica: jobs by outcome, processing and fetch
//     durations, provider API errors, sweep finds
//   - read at scrape time from the queue, the store and the webhook deliveries, through one
//     snapshot cached for `cacheMs`, so scrapes in quick succession (several Prometheus servers, a
//     console page) cost one read: queue depths and oldest-ready age, each mailbox's expiry,
//     last notification, failures and status, the webhook backlog and failures
// A source that cannot be read leaves its series out of that scrape and reads 0 in
// `inlet_scrape_source_up{source}`; the scrape itself still answers.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Claim, QueueStats } from "../../src/queue/queue.ts";
import { MAILBOX_STATUSES, type MailboxHealth } from "../domain/health.ts";
import type { MailboxRecord } from "../domain/mailbox.ts";
import type { DeliveryCounts, DeliveryOperations } from "../operations/deliveries.ts";
import type { ApiCall, ApiObserver } from "../provider-api/http.ts";
import type { SweepReport } from "../reconcile/sweep.ts";
import type { StageTimer } from "../runtime/timed-processor.ts";
import type { JobObserver, JobResult } from "../runtime/settle.ts";
import { JobRates } from "./rates.ts";

export interface ScrapeSources {
  queueStats(): Promise<QueueStats>;
  mailboxes(): Promise<{ mailbox: MailboxRecord; health: MailboxHealth }[]>;
  deliveries?: DeliveryOperations;
}

interface Snapshot {
  at: number;
  queue: QueueStats | undefined;
  mailboxes: { mailbox: MailboxRecord; health: MailboxHealth }[] | undefined;
  deliveries: DeliveryCounts | undefined;
}

export const DEFAULT_SCRAPE_CACHE_MS = 5_000;
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** `microsoft_fetch`, `gmail_history`, `google_token` → the provider they belong to. */
function providerOfCall(what: string): string {
  const head = what.split("_")[0] ?? what;
  return head === "gmail" ? "google" : head;
}

export class InletMetrics implements JobObserver, StageTimer, ApiObserver {
  readonly registry = new Registry();
  readonly rates = new JobRates();
  readonly #sources: ScrapeSources | undefined;
  readonly #cacheMs: number;
  #snapshot: Promise<Snapshot> | undefined;

  readonly #jobs: Counter<"provider" | "outcome">;
  readonly #processing: Histogram<"provider">;
  readonly #fetch: Histogram<"provider">;
  readonly #apiRequests: Counter<"provider">;
  readonly #apiErrors: Counter<"provider" | "code">;
  readonly #sweeps: Counter<"kind" | "result">;
  readonly #sweepFound: Counter<"kind">;

  constructor(options: { sources?: ScrapeSources; cacheMs?: number; processMetrics?: boolean } = {}) {
    this.#sources = options.sources;
    this.#cacheMs = options.cacheMs ?? DEFAULT_SCRAPE_CACHE_MS;
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "inlet_" });
    this.#jobs = new Counter({ name: "inlet_jobs_total", help: "Jobs settled by this replica, by provider and outcome (processed, skipped, retry, dead_letter).", labelNames: ["provider", "outcome"], registers });
    this.#processing = new Histogram({ name: "inlet_processing_duration_seconds", help: "Time to apply one message (parse, classify, thread, the one transaction).", labelNames: ["provider"], buckets: DURATION_BUCKETS, registers });
    this.#fetch = new Histogram({ name: "inlet_fetch_duration_seconds", help: "Time to fetch one message from its provider (from the job's start, or the previous message of the job, to processing).", labelNames: ["provider"], buckets: DURATION_BUCKETS, registers });
    this.#apiRequests = new Counter({ name: "inlet_provider_api_requests_total", help: "HTTP requests to the providers' APIs and token endpoints.", labelNames: ["provider"], registers });
    this.#apiErrors = new Counter({ name: "inlet_provider_api_errors_total", help: "Provider API requests that failed, by provider and code (<call>_http_<status>, <call>_timeout, <call>_unreachable).", labelNames: ["provider", "code"], registers });
    this.#sweeps = new Counter({ name: "inlet_reconcile_sweeps_total", help: "Reconciliation sweeps run by this replica, by result (ok, failed).", labelNames: ["kind", "result"], registers });
    this.#sweepFound = new Counter({ name: "inlet_reconcile_found_total", help: "Mail this replica's sweeps found that no notification announced (notifications are failing).", labelNames: ["kind"], registers });

    const snapshot = () => this.#read();
    const gauge = <L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, s: Snapshot) => void) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const s = await snapshot();
          this.reset();
          fill(this, s);
        },
      });

    gauge("inlet_queue_jobs", "Jobs in the queue by state (ready, processing, inflight, delayed, dead_letter).", ["state"], (g, s) => {
      if (!s.queue) return;
      const q = s.queue;
      for (const [state, value] of [["ready", q.ready], ["processing", q.processing], ["inflight", q.inflight], ["delayed", q.delayed], ["dead_letter", q.dlq]] as const) g.set({ state }, value);
    });
    gauge("inlet_queue_oldest_ready_age_seconds", "Age of the oldest job waiting to be claimed (0 when none waits).", [], (g, s) => {
      if (s.queue) g.set((s.queue.oldestReadyAgeMs ?? 0) / 1000);
    });
    const mailboxLabels = ["provider_id", "kind", "tenant"] as ("provider_id" | "kind" | "tenant")[];
    const labelsOf = (m: MailboxRecord) => ({ provider_id: m.providerId, kind: m.kind, tenant: m.tenantId });
    gauge("inlet_mailbox_subscription_expiry_seconds", "Seconds until the mailbox's Graph subscription or Gmail watch expires (negative: expired).", mailboxLabels, (g, s) => {
      for (const { mailbox, health } of s.mailboxes ?? []) {
        const expires = Date.parse(health.expiresAt ?? "");
        if (Number.isFinite(expires)) g.set(labelsOf(mailbox), (expires - s.at) / 1000);
      }
    });
    gauge("inlet_mailbox_last_notification_age_seconds", "Seconds since the newest notification of the mailbox that a consumer has handled arrived.", mailboxLabels, (g, s) => {
      for (const { mailbox, health } of s.mailboxes ?? []) {
        const at = Date.parse(health.lastNotificationAt ?? "");
        if (Number.isFinite(at)) g.set(labelsOf(mailbox), Math.max(0, (s.at - at) / 1000));
      }
    });
    gauge("inlet_mailbox_last_processed_age_seconds", "Seconds since a job of the mailbox last processed mail.", mailboxLabels, (g, s) => {
      for (const { mailbox, health } of s.mailboxes ?? []) {
        const at = Date.parse(health.lastProcessedAt ?? "");
        if (Number.isFinite(at)) g.set(labelsOf(mailbox), Math.max(0, (s.at - at) / 1000));
      }
    });
    gauge("inlet_mailbox_consecutive_failures", "Jobs of the mailbox failed in a row.", mailboxLabels, (g, s) => {
      for (const { mailbox, health } of s.mailboxes ?? []) g.set(labelsOf(mailbox), health.consecutiveFailures);
    });
    gauge("inlet_mailbox_last_sweep_found_messages", "Mail the mailbox's last reconciliation sweep found that no notification announced.", mailboxLabels, (g, s) => {
      for (const { mailbox } of s.mailboxes ?? []) {
        const sweep = mailbox.cursors.lastSweep;
        if (sweep) g.set(labelsOf(mailbox), sweep.found);
      }
    });
    gauge("inlet_mailbox_status", "1 for the mailbox's status now (healthy, degraded, failing, needs_reauthorisation, expired), 0 for the others.", [...mailboxLabels, "status"], (g, s) => {
      for (const { mailbox, health } of s.mailboxes ?? []) for (const status of MAILBOX_STATUSES) g.set({ ...labelsOf(mailbox), status }, health.derived.status === status ? 1 : 0);
    });
    gauge("inlet_webhook_deliveries_backlog", "Webhook deliveries waiting to be delivered (pending or retrying).", [], (g, s) => {
      if (s.deliveries) g.set(s.deliveries.pending);
    });
    gauge("inlet_webhook_deliveries_failed", "Webhook deliveries that gave up (failed, waiting to be redelivered).", [], (g, s) => {
      if (s.deliveries) g.set(s.deliveries.failed);
    });
    gauge("inlet_scrape_source_up", "1 when the scrape could read the source (queue, mailboxes, deliveries), 0 when it could not.", ["source"], (g, s) => {
      if (!this.#sources) return;
      g.set({ source: "queue" }, s.queue ? 1 : 0);
      g.set({ source: "mailboxes" }, s.mailboxes ? 1 : 0);
      if (this.#sources.deliveries) g.set({ source: "deliveries" }, s.deliveries ? 1 : 0);
    });
  }

  settled(claim: Claim, result: JobResult): void {
    this.#jobs.inc({ provider: claim.job.provider, outcome: result.outcome });
    this.rates.add(result.outcome);
  }

  fetched(provider: string, seconds: number): void {
    this.#fetch.observe({ provider }, seconds);
  }

  processed(provider: string, seconds: number): void {
    this.#processing.observe({ provider }, seconds);
  }

  apiCall(call: ApiCall): void {
    const provider = providerOfCall(call.what);
    this.#apiRequests.inc({ provider });
    if (call.error) this.#apiErrors.inc({ provider, code: call.error });
  }

  sweep(report: SweepReport): void {
    this.#sweeps.inc({ kind: report.kind, result: report.error ? "failed" : "ok" });
    if (report.found > 0) this.#sweepFound.inc({ kind: report.kind }, report.found);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The scrape-time values (cached for `cacheMs`), for the console as well. */
  snapshot(): Promise<Snapshot> {
    return this.#read();
  }

  #read(): Promise<Snapshot> {
    const cached = this.#snapshot;
    if (cached) return cached;
    const sources = this.#sources;
    const loading = (async (): Promise<Snapshot> => {
      const at = Date.now();
      if (!sources) return { at, queue: undefined, mailboxes: undefined, deliveries: undefined };
      const [queue, mailboxes, deliveries] = await Promise.all([
        sources.queueStats().catch(() => undefined),
        sources.mailboxes().catch(() => undefined),
        sources.deliveries?.counts().catch(() => undefined),
      ]);
      return { at, queue, mailboxes, deliveries };
    })();
    this.#snapshot = loading;
    const timer = setTimeout(() => {
      if (this.#snapshot === loading) this.#snapshot = undefined;
    }, this.#cacheMs);
    timer.unref();
    return loading;
  }
}
