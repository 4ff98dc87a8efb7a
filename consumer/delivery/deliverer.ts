// The deliverer: sends due webhook deliveries, in every replica at once without sending one twice
// at the same time. One round:
//   1. record the deliveries acknowledged since the last round;
//   2. one statement claims, for each endpoint, up to its free slots (INLET_WEBHOOK_CONCURRENCY
//      per endpoint, less what is in flight here) of its due deliveries (pending, next attempt
//      reached, lease free) with FOR UPDATE SKIP LOCKED, setting a lease and a token. A delivery is due only
//      when no earlier delivery of the same ticket to the same endpoint is undelivered (pending,
//      in flight, or failed): an endpoint gets a ticket's events one at a time, in order;
//   3. each claimed delivery is rendered, signed and POSTed; a 2xx marks it delivered (recorded
//      with the others acknowledged meanwhile, first thing in the next round), anything
//      else schedules the next attempt (retry-schedule.ts) or, past the retry window, marks it
//      failed. Both writes are fenced by the token: a replica whose lease ran out writes nothing.
// Endpoints are lanes: a slow or dead endpoint fills only its own slots, and its retries wait in
// backoff, so other endpoints' deliveries are claimed as before. A round runs every
// INLET_WEBHOOK_POLL_MS, and 20 ms after a nudge (a message queued deliveries in this process, or
// a delivery finished and the next event of its ticket may go; the nudges of those 20 ms share
// the round). A crash mid-attempt leaves
// the lease to run out (INLET_WEBHOOK_LEASE_MS, longer than the attempt's timeout), then the
// delivery is sent again with the same webhook-id: receivers deduplicate by it.
import { randomBytes } from "node:crypto";
import type { DeliveryConfig } from "../config.ts";
import type { Logger } from "../runtime/log.ts";
import type { KeyRing } from "../secrets/key-ring.ts";
import type { Db } from "../store/db.ts";
import { signingSecrets } from "./endpoints.ts";
import { EVENT_COLUMNS, EVENT_SOURCES, renderEvent, type EventRow, type RenderOptions } from "./payload.ts";
import { retryDelayMs } from "./retry-schedule.ts";
import { postWebhook, type SendOptions } from "./sender.ts";
import { webhookHeaders } from "./signing.ts";

// The claim returns what the payload is rendered from and the endpoint's URL and secrets as they
// are now (a rotation signs the very next attempt), so an attempt reads nothing more.
export const CLAIM_SQL = `WITH busy AS (SELECT * FROM unnest($1::text[], $2::int[]) AS b(endpoint_id, inflight)),
  due AS (
    SELECT x.id FROM webhook_endpoints w
      LEFT JOIN busy ON busy.endpoint_id = w.id
     CROSS JOIN LATERAL (
       SELECT d.id FROM webhook_deliveries d
        WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.lease_until IS NULL OR d.lease_until < now())
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                           WHERE e.endpoint_id = d.endpoint_id AND e.ticket_id = d.ticket_id AND e.status <> 'delivered' AND e.id < d.id)
        ORDER BY d.next_attempt_at, d.id
        LIMIT greatest(0, $3 - COALESCE(busy.inflight, 0))
        FOR UPDATE OF d SKIP LOCKED) x)
  UPDATE webhook_deliveries d
     SET lease_until = now() + make_interval(secs => $4::float8 / 1000), lease_token = $5, attempts = d.attempts + 1, last_attempt_at = now()
    FROM due, webhook_endpoints w, ${EVENT_SOURCES}
   WHERE d.id = due.id AND w.id = d.endpoint_id AND e.seq = d.event_seq
  RETURNING d.id AS delivery_id, d.endpoint_id, d.attempts, w.url AS endpoint_url, w.secret AS endpoint_secret,
            CASE WHEN w.previous_secret_until > now() THEN w.previous_secret END AS endpoint_previous_secret, ${EVENT_COLUMNS}`;

// Acknowledged deliveries are recorded together, at the start of the next round (a few ms later).
const DELIVERED_SQL = `UPDATE webhook_deliveries d SET status = 'delivered', delivered_at = now(), last_status = x.status, last_error = NULL, lease_until = NULL, lease_token = NULL
  FROM unnest($1::bigint[], $2::text[], $3::int[]) AS x(id, token, status)
 WHERE d.id = x.id AND d.lease_token = x.token`;

// The next attempt, or failed when it would fall past the retry window.
const RETRY_SQL = `UPDATE webhook_deliveries
   SET last_status = $3, last_error = $4, lease_until = NULL, lease_token = NULL,
       next_attempt_at = now() + make_interval(secs => $5::float8 / 1000),
       status = CASE WHEN now() + make_interval(secs => $5::float8 / 1000) > retry_from + make_interval(secs => $6::float8 / 1000) THEN 'failed' ELSE 'pending' END
 WHERE id = $1 AND lease_token = $2
 RETURNING status`;

export interface DelivererOptions {
  db: Db;
  secrets: KeyRing | undefined;
  config: DeliveryConfig;
  render: RenderOptions;
  log: Logger;
}

interface Claimed extends EventRow {
  delivery_id: number;
  endpoint_id: string;
  attempts: number;
  endpoint_url: string;
  endpoint_secret: string;
  endpoint_previous_secret: string | null;
}
/** A nudge starts a round this much later, and the nudges meanwhile share it: a burst of commits
 * and finished attempts is claimed in one statement (measured at 100 mails/s: about half the
 * delivery's CPU per mail of a round per nudge, for some 20 ms of latency). */
const NUDGE_GATHER_MS = 20;

export class Deliverer {
  readonly #o: DelivererOptions;
  readonly #send: SendOptions;
  readonly #inflight = new Map<string, number>();
  readonly #attempts = new Set<Promise<void>>();
  #acknowledged: { id: number; token: string; status: number }[] = [];
  #stopped = false;
  #nudged = false;
  /** Ends the wait between rounds: at once (stop) or after the gathering delay (a nudge). */
  #wake: ((now: boolean) => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: DelivererOptions) {
    this.#o = options;
    const { config } = options;
    this.#send = { policy: { allowInsecureLoopback: config.allowInsecureLoopback, allowPrivateAddresses: config.allowPrivateAddresses }, timeoutMs: config.timeoutMs, maxResponseBytes: config.maxResponseBytes };
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Look for due deliveries now (after a commit that queued some). */
  nudge(): void {
    this.#nudged = true;
    this.#wake?.(false);
  }

  /** No more claims; attempts in flight finish (each is bounded by the timeout). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.(true);
    await this.#loop;
    await Promise.allSettled([...this.#attempts]);
    await this.#recordAcknowledged();
  }

  async #recordAcknowledged(): Promise<void> {
    if (this.#acknowledged.length === 0) return;
    const batch = this.#acknowledged;
    this.#acknowledged = [];
    try {
      await this.#o.db.query(DELIVERED_SQL, [batch.map((a) => a.id), batch.map((a) => a.token), batch.map((a) => a.status)], { prepare: true });
    } catch (error) {
      // Not recorded: their leases run out and they are sent again (receivers deduplicate by id).
      this.#o.log.error({ event: "inbound_email_webhook_record_failed", deliveries: batch.length, err: error }, "recording acknowledged webhooks failed; they will be sent again");
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      this.#nudged = false;
      try {
        await this.#round();
      } catch (error) {
        this.#o.log.error({ event: "inbound_email_webhook_round_failed", err: error }, "looking for due webhook deliveries failed; trying again");
      }
      if (this.#stopped) continue;
      await new Promise<void>((resolve) => {
        let timer = setTimeout(resolve, this.#nudged ? NUDGE_GATHER_MS : this.#o.config.pollMs);
        let gathering = this.#nudged;
        this.#wake = (now) => {
          if (now) return void (clearTimeout(timer), resolve());
          if (gathering) return;
          gathering = true;
          clearTimeout(timer);
          timer = setTimeout(resolve, NUDGE_GATHER_MS);
        };
      });
      this.#wake = undefined;
    }
  }

  async #round(): Promise<void> {
    const { db, config } = this.#o;
    await this.#recordAcknowledged();
    // One statement for every endpoint, each claiming up to its free slots.
    const busy = [...this.#inflight].filter(([, n]) => n > 0);
    const token = randomBytes(12).toString("base64url");
    const claimed = await db.query<Claimed>(CLAIM_SQL, [busy.map(([id]) => id), busy.map(([, n]) => n), config.concurrencyPerEndpoint, config.leaseMs, token], { prepare: true });
    for (const delivery of claimed) this.#launch(delivery.endpoint_id, delivery, token);
  }

  #launch(endpointId: string, delivery: Claimed, token: string): void {
    this.#inflight.set(endpointId, (this.#inflight.get(endpointId) ?? 0) + 1);
    const attempt = this.#attempt(endpointId, delivery, token)
      .catch((error: unknown) => this.#o.log.error({ event: "inbound_email_webhook_attempt_failed", delivery: delivery.delivery_id, endpoint: endpointId, err: error }, "a webhook attempt failed before it was recorded; its lease runs out and it is tried again"))
      .finally(() => {
        this.#inflight.set(endpointId, (this.#inflight.get(endpointId) ?? 1) - 1);
        this.#attempts.delete(attempt);
        // The next event of the ticket, or the next in line for this endpoint.
        if (!this.#stopped) this.nudge();
      });
    this.#attempts.add(attempt);
  }

  async #attempt(endpointId: string, delivery: Claimed, token: string): Promise<void> {
    const { db, log, config } = this.#o;
    const secrets = signingSecrets(this.#o.secrets, endpointId, delivery.endpoint_secret, delivery.endpoint_previous_secret);
    const payload = await renderEvent(db, delivery, this.#o.render);
    const body = JSON.stringify(payload);
    const headers = webhookHeaders(secrets, payload.id, Math.floor(Date.now() / 1000), body);
    const result = await postWebhook(delivery.endpoint_url, body, headers, this.#send);
    const fields = { delivery: delivery.delivery_id, endpoint: endpointId, eventId: payload.id, type: payload.type, attempt: delivery.attempts, status: result.status, durationMs: result.durationMs };
    if (result.ok) {
      this.#acknowledged.push({ id: delivery.delivery_id, token, status: result.status });
      log.info({ event: "inbound_email_webhook_delivered", ...fields }, "webhook delivered");
      return;
    }
    const delayMs = retryDelayMs(delivery.attempts, config.retry);
    const [row] = await db.query<{ status: string }>(RETRY_SQL, [delivery.delivery_id, token, result.status, result.error.slice(0, 500), delayMs, config.retry.windowMs], { prepare: true });
    if (row?.status === "failed") log.error({ event: "inbound_email_webhook_failed", ...fields, error: result.error }, "webhook delivery failed for good (retry window over): `inlet webhooks redeliver` sends it again");
    else log.warn({ event: "inbound_email_webhook_retry", ...fields, error: result.error, retryInMs: delayMs }, "webhook attempt failed; retrying");
  }
}
