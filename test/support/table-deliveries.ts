// A small DeliveryOperations over a real table, standing in for the webhook delivery module in
// the console and metrics tests (the module implements the same interface; the lead wires it).
import type { DeliveryOperations, DeliveryRecord } from "../../consumer/operations/deliveries.ts";
import type { Queryable } from "../../consumer/store/db.ts";

export const CREATE_DELIVERIES = `CREATE TABLE IF NOT EXISTS test_webhook_deliveries (
  id bigserial PRIMARY KEY, event_type text NOT NULL, event_id text NOT NULL, url text NOT NULL,
  status text NOT NULL, attempts integer NOT NULL DEFAULT 0, last_error text, created_at timestamptz NOT NULL DEFAULT now(), last_attempt_at timestamptz)`;

interface Row {
  id: string | number;
  event_type: string;
  event_id: string;
  url: string;
  status: DeliveryRecord["status"];
  attempts: number;
  last_error: string | null;
  created_at: Date;
  last_attempt_at: Date | null;
}

export class TableDeliveries implements DeliveryOperations {
  db: Queryable | undefined;

  #q(): Queryable {
    if (!this.db) throw new Error("the deliveries table is not ready");
    return this.db;
  }

  async add(status: DeliveryRecord["status"], eventType = "ticket.created", lastError?: string): Promise<string> {
    const [row] = await this.#q().query<{ id: string }>("INSERT INTO test_webhook_deliveries (event_type, event_id, url, status, attempts, last_error, last_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING id::text AS id", [eventType, `evt_${Math.random().toString(36).slice(2)}`, "https://helpdesk.example/hooks/inlet", status, status === "pending" ? 0 : 7, lastError ?? null]);
    return row!.id;
  }

  async list(options: { failedOnly: boolean; limit: number }): Promise<DeliveryRecord[]> {
    const rows = await this.#q().query<Row>(`SELECT * FROM test_webhook_deliveries ${options.failedOnly ? "WHERE status = 'failed'" : ""} ORDER BY id DESC LIMIT $1`, [options.limit]);
    return rows.map((r) => ({
      id: String(r.id),
      eventType: r.event_type,
      eventId: r.event_id,
      url: r.url,
      status: r.status,
      attempts: r.attempts,
      ...(r.last_error ? { lastError: r.last_error } : {}),
      createdAt: new Date(r.created_at).toISOString(),
      ...(r.last_attempt_at ? { lastAttemptAt: new Date(r.last_attempt_at).toISOString() } : {}),
    }));
  }

  async redeliver(id: string): Promise<boolean> {
    if (!/^\d+$/.test(id)) return false;
    return (await this.#q().query("UPDATE test_webhook_deliveries SET status = 'pending', attempts = 0 WHERE id = $1::bigint RETURNING id", [id])).length > 0;
  }

  async redeliverAllFailed(): Promise<number> {
    return (await this.#q().query("UPDATE test_webhook_deliveries SET status = 'pending', attempts = 0 WHERE status = 'failed' RETURNING id")).length;
  }

  async counts(): Promise<{ pending: number; failed: number }> {
    const [row] = await this.#q().query<{ pending: number; failed: number }>("SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM test_webhook_deliveries");
    return { pending: row!.pending, failed: row!.failed };
  }
}
