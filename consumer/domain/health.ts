// A mailbox's health: what the consumer last saw of it (a notification, a processed message, an
// error), how its subscription or watch stands, what its last sweep found, and the status all of
// that comes to. The status is derived, never set by hand, by these rules in this order:
//
//   needs_reauthorisation  the provider refused the mailbox's grant (consumer/runtime/job-handler.ts)
//   expired                its Graph subscription or Gmail watch expired: no notifications come
//   failing                FAILING_AFTER or more jobs of the mailbox failed in a row
//   degraded               a job failed since the last success; or the last sweep failed, or found
//                          mail no notification announced (notifications are failing); or the
//                          subscription or watch expires within EXPIRY_WARNING_MS (renewal is late:
//                          it runs 36 h ahead)
//   healthy                none of these
import type { MailboxRecord } from "./mailbox.ts";

export const MAILBOX_STATUSES = ["healthy", "degraded", "failing", "needs_reauthorisation", "expired"] as const;
export type MailboxStatus = (typeof MAILBOX_STATUSES)[number];

/** Jobs failed in a row from which a mailbox is failing rather than degraded. */
export const FAILING_AFTER = 3;
/** A subscription or watch this close to its expiry was not renewed in time. */
export const EXPIRY_WARNING_MS = 12 * 3600_000;

/** What the consumer recorded (store/health.ts); every field absent until it first happens. */
export interface HealthRecord {
  lastNotificationAt?: string;
  lastProcessedAt?: string;
  lastSuccessAt?: string;
  lastError?: { code: string; message: string; at: string };
  consecutiveFailures: number;
  /** The status last stored (a change is logged when it moves). */
  status: MailboxStatus;
  statusChangedAt?: string;
}

export const EMPTY_HEALTH: HealthRecord = { consecutiveFailures: 0, status: "healthy" };

export interface MailboxHealth extends HealthRecord {
  /** The status now, from the rules above. */
  derived: { status: MailboxStatus; reason: string };
  /** When the Graph subscription or Gmail watch expires (IMAP: none). */
  expiresAt?: string;
}

/** When the mailbox's subscription (Graph) or watch (Gmail) expires, as stored. */
export function expiryOf(mailbox: MailboxRecord): string | undefined {
  if (mailbox.kind === "microsoft") return mailbox.cursors.graphSubscriptionExpiresAt;
  if (mailbox.kind === "google") return mailbox.cursors.gmailWatchExpiration;
  return undefined;
}

const hours = (ms: number) => (ms >= 3600_000 ? `${(ms / 3600_000).toFixed(1)} h` : `${Math.max(0, Math.floor(ms / 60_000))} min`);

export function deriveStatus(mailbox: MailboxRecord, health: HealthRecord, now = Date.now()): { status: MailboxStatus; reason: string } {
  if (mailbox.authorisation) return { status: "needs_reauthorisation", reason: `the provider refused the grant (${mailbox.authorisation.reason}); connect the mailbox again` };
  const expiry = Date.parse(expiryOf(mailbox) ?? "");
  const what = mailbox.kind === "google" ? "watch" : "subscription";
  if (Number.isFinite(expiry) && expiry <= now) return { status: "expired", reason: `the ${what} expired ${hours(now - expiry)} ago` };
  const error = health.lastError ? ` (last: ${health.lastError.code})` : "";
  if (health.consecutiveFailures >= FAILING_AFTER) return { status: "failing", reason: `${health.consecutiveFailures} jobs failed in a row${error}` };
  if (health.consecutiveFailures > 0) return { status: "degraded", reason: `${health.consecutiveFailures} job(s) failed since the last success${error}` };
  const sweep = mailbox.cursors.lastSweep;
  if (sweep?.error) return { status: "degraded", reason: `the last sweep failed (${sweep.error})` };
  if (sweep && sweep.found > 0) return { status: "degraded", reason: `the last sweep found ${sweep.found} message(s) no notification announced` };
  if (Number.isFinite(expiry) && expiry - now < EXPIRY_WARNING_MS) return { status: "degraded", reason: `the ${what} expires in ${hours(expiry - now)}` };
  return { status: "healthy", reason: "" };
}

export function mailboxHealth(mailbox: MailboxRecord, record: HealthRecord, now = Date.now()): MailboxHealth {
  const expiresAt = expiryOf(mailbox);
  return { ...record, derived: deriveStatus(mailbox, record, now), ...(expiresAt ? { expiresAt } : {}) };
}
