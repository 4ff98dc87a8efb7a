// Mailbox health rows (migration 10): what every replica's health recorder flushes, batched (one
// statement for every mailbox it saw since the last flush), and the status each replica's check
// stores when it moves. Never written in the processing transaction.
import { MAILBOX_STATUSES, type HealthRecord, type MailboxStatus } from "../domain/health.ts";
import type { Queryable } from "./db.ts";

/** What one replica saw of one mailbox since its last flush. */
export interface HealthUpdate {
  providerId: string;
  /** The newest notification's arrival (ISO): the enqueue time of a job that was not a sweep's. */
  notifiedAt?: string;
  /** The newest job that processed mail. */
  processedAt?: string;
  /** The newest job that succeeded (processed or skipped): failures before it no longer count. */
  succeededAt?: string;
  /** Jobs failed after `succeededAt` (or since the last flush, when there was no success). */
  failures: number;
  lastError?: { code: string; message: string; at: string };
}

// GREATEST ignores NULLs, so a column moves only forward; the failures of the batch replace the
// stored count when the batch saw a success after which they happened, and add to it otherwise.
// A mailbox removed meanwhile is left out (the join), never re-created.
const FLUSH = `
  INSERT INTO mailbox_health AS h (provider_id, last_notification_at, last_processed_at, last_success_at, last_error_code, last_error_message, last_error_at, consecutive_failures)
  SELECT b.provider_id, b.notified_at, b.processed_at, b.succeeded_at, b.error_code, b.error_message, b.error_at, b.failures
  FROM jsonb_to_recordset($1::jsonb) AS b(provider_id text, notified_at timestamptz, processed_at timestamptz, succeeded_at timestamptz, error_code text, error_message text, error_at timestamptz, failures integer)
  JOIN mailbox_providers p ON p.id = b.provider_id
  ON CONFLICT (provider_id) DO UPDATE SET
    last_notification_at = GREATEST(h.last_notification_at, EXCLUDED.last_notification_at),
    last_processed_at = GREATEST(h.last_processed_at, EXCLUDED.last_processed_at),
    last_success_at = GREATEST(h.last_success_at, EXCLUDED.last_success_at),
    last_error_code = CASE WHEN EXCLUDED.last_error_at >= h.last_error_at OR h.last_error_at IS NULL THEN COALESCE(EXCLUDED.last_error_code, h.last_error_code) ELSE h.last_error_code END,
    last_error_message = CASE WHEN EXCLUDED.last_error_at >= h.last_error_at OR h.last_error_at IS NULL THEN COALESCE(EXCLUDED.last_error_message, h.last_error_message) ELSE h.last_error_message END,
    last_error_at = GREATEST(h.last_error_at, EXCLUDED.last_error_at),
    consecutive_failures = CASE WHEN EXCLUDED.last_success_at IS NOT NULL THEN EXCLUDED.consecutive_failures ELSE h.consecutive_failures + EXCLUDED.consecutive_failures END`;

const SELECT_ALL = `SELECT provider_id, last_notification_at, last_processed_at, last_success_at, last_error_code, last_error_message, last_error_at, consecutive_failures, status, status_changed_at FROM mailbox_health`;
const SELECT_ONE = `${SELECT_ALL} WHERE provider_id = $1`;

// The status moves in one statement that returns the status it replaced, so of two replicas
// checking at once only one sees (and logs) the change.
const SET_STATUS = `
  INSERT INTO mailbox_health AS h (provider_id, status, status_reason, status_changed_at) SELECT $1, $2, $3, now() FROM mailbox_providers WHERE id = $1
  ON CONFLICT (provider_id) DO UPDATE SET status = EXCLUDED.status, status_reason = EXCLUDED.status_reason, status_changed_at = now()
  WHERE h.status IS DISTINCT FROM EXCLUDED.status
  RETURNING (SELECT o.status FROM mailbox_health o WHERE o.provider_id = $1) AS previous`;

interface Row {
  provider_id: string;
  last_notification_at: Date | string | null;
  last_processed_at: Date | string | null;
  last_success_at: Date | string | null;
  last_error_code: string | null;
  last_error_message: string | null;
  last_error_at: Date | string | null;
  consecutive_failures: number;
  status: string;
  status_changed_at: Date | string | null;
}

const iso = (value: Date | string | null): string | undefined => (value === null ? undefined : new Date(value).toISOString());
const isStatus = (value: string): value is MailboxStatus => (MAILBOX_STATUSES as readonly string[]).includes(value);

function toRecord(row: Row): HealthRecord {
  const errorAt = iso(row.last_error_at);
  const fields = {
    lastNotificationAt: iso(row.last_notification_at),
    lastProcessedAt: iso(row.last_processed_at),
    lastSuccessAt: iso(row.last_success_at),
    lastError: row.last_error_code && errorAt ? { code: row.last_error_code, message: row.last_error_message ?? "", at: errorAt } : undefined,
    statusChangedAt: iso(row.status_changed_at),
  };
  const record: HealthRecord = { consecutiveFailures: Number(row.consecutive_failures), status: isStatus(row.status) ? row.status : "healthy" };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) Object.assign(record, { [key]: value });
  return record;
}

export class HealthStore {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async flush(updates: readonly HealthUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const batch = updates.map((u) => ({
      provider_id: u.providerId,
      notified_at: u.notifiedAt ?? null,
      processed_at: u.processedAt ?? null,
      succeeded_at: u.succeededAt ?? null,
      error_code: u.lastError?.code ?? null,
      error_message: u.lastError?.message ?? null,
      error_at: u.lastError?.at ?? null,
      failures: u.failures,
    }));
    await this.#db.query(FLUSH, [JSON.stringify(batch)]);
  }

  async all(): Promise<Map<string, HealthRecord>> {
    const rows = await this.#db.query<Row>(SELECT_ALL);
    return new Map(rows.map((r) => [r.provider_id, toRecord(r)]));
  }

  async get(providerId: string): Promise<HealthRecord | undefined> {
    const [row] = await this.#db.query<Row>(SELECT_ONE, [providerId]);
    return row ? toRecord(row) : undefined;
  }

  /** Store the mailbox's status; the status it replaced when it changed (a new row replaces
   * `healthy`), undefined when it was already so. */
  async setStatus(providerId: string, status: MailboxStatus, reason: string): Promise<MailboxStatus | undefined> {
    const [row] = await this.#db.query<{ previous: string | null }>(SET_STATUS, [providerId, status, reason || null]);
    if (!row) return undefined;
    const previous = row.previous && isStatus(row.previous) ? row.previous : "healthy";
    return previous === status ? undefined : previous;
  }
}
