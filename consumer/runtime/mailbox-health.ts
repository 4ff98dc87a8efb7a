// Mailbox health as the consumer keeps it. Two cheap halves:
//   - recording: every settled job (a JobObserver) updates a few fields of its mailbox in memory;
//     nothing touches the database on the job's path
//   - flushing: every `flushMs` the mailboxes seen since the last flush go to the store in one
//     statement (store/health.ts), then each mailbox's status is derived again (domain/health.ts)
//     and a status that moved is stored and logged as `inbound_email_mailbox_status`, once across
//     replicas (the store's update says which replica moved it)
// A flush that fails keeps what it held for the next one; it runs as a background task
// (runtime/periodic.ts), so it can never crash the process.
import type { Claim } from "../../src/queue/queue.ts";
import { EMPTY_HEALTH, mailboxHealth, type MailboxHealth } from "../domain/health.ts";
import type { MailboxRecord } from "../domain/mailbox.ts";
import type { HealthStore, HealthUpdate } from "../store/health.ts";
import type { Logger } from "./log.ts";
import { periodic, type PeriodicTask } from "./periodic.ts";
import type { JobObserver, JobResult } from "./settle.ts";

export const DEFAULT_HEALTH_FLUSH_MS = 5_000;
const ERROR_MESSAGE_CHARS = 300;

export interface MailboxHealthOptions {
  store: HealthStore;
  /** The connected mailboxes (for the status check). */
  listMailboxes(): Promise<MailboxRecord[]>;
  log: Logger;
  flushMs?: number;
}

/** What the recorder holds for a mailbox between flushes: epoch milliseconds, made ISO at flush. */
interface Seen {
  notifiedAt?: number;
  processedAt?: number;
  succeededAt?: number;
  failures: number;
  lastError?: { code: string; message: string; at: number };
}

const later = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));

function toUpdate(providerId: string, seen: Seen): HealthUpdate {
  const update: HealthUpdate = { providerId, failures: seen.failures };
  if (seen.notifiedAt !== undefined) update.notifiedAt = new Date(seen.notifiedAt).toISOString();
  if (seen.processedAt !== undefined) update.processedAt = new Date(seen.processedAt).toISOString();
  if (seen.succeededAt !== undefined) update.succeededAt = new Date(seen.succeededAt).toISOString();
  if (seen.lastError) update.lastError = { code: seen.lastError.code, message: seen.lastError.message, at: new Date(seen.lastError.at).toISOString() };
  return update;
}

export class MailboxHealthRecorder implements JobObserver {
  readonly #o: Required<MailboxHealthOptions>;
  #pending = new Map<string, Seen>();
  #task: PeriodicTask | undefined;

  constructor(options: MailboxHealthOptions) {
    this.#o = { flushMs: DEFAULT_HEALTH_FLUSH_MS, ...options };
  }

  settled(claim: Claim, result: JobResult): void {
    const { job } = claim;
    const now = Date.now();
    let seen = this.#pending.get(job.providerId);
    if (!seen) this.#pending.set(job.providerId, (seen = { failures: 0 }));
    if (job.origin !== "sweep" && (seen.notifiedAt === undefined || job.enqueuedAt > seen.notifiedAt)) seen.notifiedAt = job.enqueuedAt;
    if (result.outcome === "processed" || result.outcome === "skipped") {
      if (result.outcome === "processed" && result.messages > 0) seen.processedAt = now;
      seen.succeededAt = now;
      seen.failures = 0;
      return;
    }
    seen.failures++;
    seen.lastError = { code: result.error.code, message: result.error.message.slice(0, ERROR_MESSAGE_CHARS), at: now };
  }

  start(): void {
    this.#task ??= periodic("mailbox_health", this.#o.flushMs, this.#o.log, () => this.flush());
  }

  async stop(): Promise<void> {
    await this.#task?.stop();
    await this.flush().catch((error: unknown) => this.#o.log.warn({ event: "inbound_email_mailbox_health_flush_failed", err: error }, "could not store the last mailbox health on shutdown"));
  }

  /** Store what was recorded, then check every mailbox's status (a change is stored and logged). */
  async flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      await this.#o.store.flush([...batch].map(([id, seen]) => toUpdate(id, seen)));
    } catch (error) {
      this.#restore(batch);
      throw error;
    }
    await this.checkStatuses();
  }

  /** Derive every mailbox's status; store and log those that moved. Returns each mailbox's health. */
  async checkStatuses(now = Date.now()): Promise<MailboxHealth[]> {
    const [mailboxes, records] = await Promise.all([this.#o.listMailboxes(), this.#o.store.all()]);
    const out: MailboxHealth[] = [];
    for (const mailbox of mailboxes) {
      const health = mailboxHealth(mailbox, records.get(mailbox.providerId) ?? EMPTY_HEALTH, now);
      out.push(health);
      if (health.derived.status === health.status && records.has(mailbox.providerId)) continue;
      const previous = await this.#o.store.setStatus(mailbox.providerId, health.derived.status, health.derived.reason);
      if (previous === undefined) continue;
      const level = health.derived.status === "healthy" ? "info" : "warn";
      this.#o.log[level](
        { event: "inbound_email_mailbox_status", providerId: mailbox.providerId, kind: mailbox.kind, tenantId: mailbox.tenantId, status: health.derived.status, previous, reason: health.derived.reason },
        `mailbox ${mailbox.providerId} is ${health.derived.status.replace(/_/g, " ")}${health.derived.reason ? `: ${health.derived.reason}` : ""}`,
      );
    }
    return out;
  }

  /** A failed flush's records merged back under whatever was recorded meanwhile. */
  #restore(batch: Map<string, Seen>): void {
    for (const [id, old] of batch) {
      const newer = this.#pending.get(id);
      if (!newer) {
        this.#pending.set(id, old);
        continue;
      }
      const merged: Seen = { failures: newer.succeededAt !== undefined ? newer.failures : old.failures + newer.failures };
      const notifiedAt = later(old.notifiedAt, newer.notifiedAt);
      const processedAt = later(old.processedAt, newer.processedAt);
      const succeededAt = later(old.succeededAt, newer.succeededAt);
      const lastError = newer.lastError ?? old.lastError;
      if (notifiedAt !== undefined) merged.notifiedAt = notifiedAt;
      if (processedAt !== undefined) merged.processedAt = processedAt;
      if (succeededAt !== undefined) merged.succeededAt = succeededAt;
      if (lastError) merged.lastError = lastError;
      this.#pending.set(id, merged);
    }
  }
}
