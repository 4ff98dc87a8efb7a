// What operators do with deliveries, as plain functions over the database: the CLI (`inlet
// webhooks …`, directly or through the running consumer's /admin endpoints) and the console use
// these.
import { randomBytes } from "node:crypto";
import type { KeyRing } from "../secrets/key-ring.ts";
import type { Queryable } from "../store/db.ts";
import { signingEndpoint } from "./endpoints.ts";
import { Refusal } from "./refusal.ts";
import { postWebhook, type SendOptions, type SendResult } from "./sender.ts";
import { webhookHeaders } from "./signing.ts";

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface DeliveryRow {
  id: number;
  eventId: string;
  type: string;
  tenantId: string;
  ticketNumber: number | null;
  endpointId: string;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface DeliveryFilter {
  /** Only failed deliveries (the retry window passed). */
  failedOnly?: boolean;
  status?: DeliveryStatus;
  tenantId?: string;
  endpointId?: string;
  /** Newest first; default 50, at most 1000. */
  limit?: number;
}

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

export async function listDeliveries(db: Queryable, filter: DeliveryFilter = {}): Promise<DeliveryRow[]> {
  const status = filter.failedOnly ? "failed" : (filter.status ?? null);
  const limit = Math.min(1000, Math.max(1, filter.limit ?? 50));
  const rows = await db.query<{
    id: number; event_id: string; type: string; tenant_id: string; ticket_number: number | null; endpoint_id: string; url: string; status: DeliveryStatus;
    attempts: number; last_status: number | null; last_error: string | null; next_attempt_at: Date | null; created_at: Date; delivered_at: Date | null;
  }>(
    `SELECT d.id, e.id AS event_id, e.type, e.tenant_id, e.ticket_number, d.endpoint_id, w.url, d.status, d.attempts, d.last_status, d.last_error,
            CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at, d.created_at, d.delivered_at
       FROM webhook_deliveries d JOIN delivery_events e ON e.seq = d.event_seq JOIN webhook_endpoints w ON w.id = d.endpoint_id
      WHERE ($1::text IS NULL OR d.status = $1) AND ($2::text IS NULL OR e.tenant_id = $2) AND ($3::text IS NULL OR d.endpoint_id = $3)
      ORDER BY d.id DESC LIMIT $4`,
    [status, filter.tenantId ?? null, filter.endpointId ?? null, limit],
  );
  return rows.map((r) => ({
    id: r.id, eventId: r.event_id, type: r.type, tenantId: r.tenant_id, ticketNumber: r.ticket_number, endpointId: r.endpoint_id, url: r.url, status: r.status,
    attempts: r.attempts, lastStatus: r.last_status, lastError: r.last_error, nextAttemptAt: iso(r.next_attempt_at), createdAt: iso(r.created_at)!, deliveredAt: iso(r.delivered_at),
  }));
}

const REDELIVER = `SET status = 'pending', attempts = 0, next_attempt_at = now(), retry_from = now(), lease_until = NULL, lease_token = NULL`;

/** Sends one delivery again (failed, or delivered: the receiver gets the same webhook-id again),
 * with a fresh retry window. A pending one is left as it is. */
export async function redeliver(db: Queryable, deliveryId: number): Promise<{ id: number; previousStatus: DeliveryStatus }> {
  const [row] = await db.query<{ status: DeliveryStatus }>("SELECT status FROM webhook_deliveries WHERE id = $1", [deliveryId]);
  if (!row) throw new Refusal("delivery_not_found", `no delivery ${deliveryId}`, 404);
  if (row.status !== "pending") await db.query(`UPDATE webhook_deliveries ${REDELIVER} WHERE id = $1 AND status <> 'pending'`, [deliveryId]);
  return { id: deliveryId, previousStatus: row.status };
}

/** Every failed delivery (of one endpoint, when named) back to pending; how many. */
export async function redeliverAllFailed(db: Queryable, endpointId?: string): Promise<number> {
  const rows = await db.query(`UPDATE webhook_deliveries ${REDELIVER} WHERE status = 'failed' AND ($1::text IS NULL OR endpoint_id = $1) RETURNING id`, [endpointId ?? null]);
  return rows.length;
}

export interface DeliveryCounts {
  /** Not delivered yet and not failed: waiting for their attempt, in backoff, or in flight. */
  backlog: number;
  /** In backoff after a failed attempt. */
  retrying: number;
  failed: number;
  /** Age of the oldest pending delivery. */
  oldestPendingAgeMs: number | null;
}

export async function deliveryCounts(db: Queryable, endpointId?: string): Promise<DeliveryCounts> {
  const [row] = await db.query<{ backlog: number; retrying: number; failed: number; oldest_ms: number | null }>(
    `SELECT count(*) FILTER (WHERE status = 'pending')::int AS backlog,
            count(*) FILTER (WHERE status = 'pending' AND attempts > 0 AND (lease_until IS NULL OR lease_until < now()))::int AS retrying,
            count(*) FILTER (WHERE status = 'failed')::int AS failed,
            (extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending')) * 1000)::float8 AS oldest_ms
       FROM webhook_deliveries WHERE status <> 'delivered' AND ($1::text IS NULL OR endpoint_id = $1)`,
    [endpointId ?? null],
  );
  return { backlog: row?.backlog ?? 0, retrying: row?.retrying ?? 0, failed: row?.failed ?? 0, oldestPendingAgeMs: row?.oldest_ms === null || row?.oldest_ms === undefined ? null : Math.round(Number(row.oldest_ms)) };
}

/** A `webhook.ping`, signed like every delivery, sent now; the endpoint's answer. */
export async function pingEndpoint(db: Queryable, secrets: KeyRing | undefined, endpointId: string, send: SendOptions): Promise<SendResult & { eventId: string }> {
  const endpoint = await signingEndpoint(db, secrets, endpointId);
  if (!endpoint) throw new Refusal("endpoint_not_found", `no webhook endpoint ${JSON.stringify(endpointId)}`, 404);
  const eventId = `evt_ping_${randomBytes(12).toString("hex")}`;
  const body = JSON.stringify({ type: "webhook.ping", id: eventId, timestamp: new Date().toISOString(), version: 1, data: { tenantId: endpoint.tenantId, endpointId: endpoint.id } });
  const result = await postWebhook(endpoint.url, body, webhookHeaders(endpoint.secrets, eventId, Math.floor(Date.now() / 1000), body), send);
  return { ...result, eventId };
}
