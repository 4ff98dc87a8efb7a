// Delivery under faults: answers other than 2xx and timeouts are retried until a 2xx, and only a
// 2xx marks a delivery delivered; a dead endpoint does not hold up another; two deliverers (two
// replicas) never send an event at once or out of order; secrets rotate old → both → new.
import { afterEach, describe, expect, it } from "vitest";
import { Deliverer } from "../../../consumer/delivery/deliverer.ts";
import { addEndpoint, rotateSecret } from "../../../consumer/delivery/endpoints.ts";
import { deliveryCounts, listDeliveries } from "../../../consumer/delivery/operations.ts";
import { createProcessor } from "../../../consumer/processing/processor.ts";
import type { KeyRing } from "../../../consumer/secrets/key-ring.ts";
import type { Db } from "../../../consumer/store/db.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { openPostgres } from "../../../consumer/store/postgres.ts";
import { backends, testDatabase, type TestDatabase } from "../../support/database.ts";
import { testDeliveryConfig } from "../../support/delivery.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { buildMail } from "../../support/mail.ts";
import { keyEntry, keyRing } from "../../support/secrets.ts";
import { until } from "../../support/until.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../support/webhook-receiver.ts";

const policy = { allowInsecureLoopback: true, allowPrivateAddresses: false };

/** Per ticket, the event ids in the order apply_message() wrote them. */
async function eventOrder(db: Db): Promise<Map<number, string[]>> {
  const rows = await db.query<{ ticket_number: number; id: string }>("SELECT ticket_number, id FROM delivery_events ORDER BY seq");
  const order = new Map<number, string[]>();
  for (const r of rows) order.set(r.ticket_number, [...(order.get(r.ticket_number) ?? []), r.id]);
  return order;
}

/** The receiver applied each ticket's events in their order. */
function expectPerTicketOrder(receiver: WebhookReceiver, order: Map<number, string[]>): void {
  const position = new Map(receiver.applied.map((id, i) => [id, i]));
  for (const [ticket, ids] of order) {
    const positions = ids.map((id) => position.get(id));
    expect(positions.every((p) => p !== undefined), `ticket ${ticket}: every event applied`).toBe(true);
    expect([...positions].sort((a, b) => a! - b!), `ticket ${ticket}: in order`).toEqual(positions);
  }
}

describe.each(backends)("delivery faults on %s", (backend) => {
  let t: TestDatabase;
  const receivers: WebhookReceiver[] = [];
  const deliverers: Deliverer[] = [];
  const extraDbs: Db[] = [];
  afterEach(async () => {
    await Promise.all(deliverers.splice(0).map((d) => d.stop()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    await Promise.all(extraDbs.splice(0).map((d) => d.close()));
    await t.drop();
  });

  async function setup(secrets?: KeyRing) {
    t = await testDatabase(backend);
    const box = await new Mailboxes(t.db).add({ tenantId: "acme", kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    const processor = createProcessor({ db: t.db, onDeliveriesQueued: () => deliverers.forEach((d) => d.nudge()) });
    let n = 0;
    const mail = (raw: Uint8Array) => processor.process({ provider: "imap", tenantId: "acme", providerId: box, providerMessageId: `1:${++n}`, raw });
    const receiver = async () => {
      const r = await startWebhookReceiver();
      receivers.push(r);
      return r;
    };
    const deliverer = (db: Db = t.db, overrides: Record<string, string> = {}) => {
      const d = new Deliverer({ db, secrets, config: testDeliveryConfig(overrides), render: { publicUrl: "http://inlet.test", inlineMaxBytes: 0 }, log: captureLogs().log });
      deliverers.push(d);
      d.start();
      return d;
    };
    /** `tickets` tickets with `replies` replies each, the replies of each ticket in order. */
    const conversations = async (tickets: number, replies: number) => {
      for (let c = 0; c < tickets; c++) {
        await mail(buildMail({ id: `c${c}-0@example.org`, subject: `Conversation ${c}` }));
        for (let r = 1; r <= replies; r++) await mail(buildMail({ id: `c${c}-${r}@example.org`, subject: `Re: Conversation ${c}`, inReplyTo: `c${c}-${r - 1}@example.org` }));
      }
    };
    return { mail, receiver, deliverer, conversations };
  }

  it("500s and timeouts are retried until a 2xx; only a 2xx marks a delivery delivered", async () => {
    const { receiver, deliverer, conversations } = await setup();
    const r = await receiver();
    r.secrets = [(await addEndpoint(t.db, undefined, policy, { tenantId: "acme", url: r.url })).secret];
    // Each event: the first answer a 500, the second a hang past the 1 s timeout, then 204.
    const seen = new Map<string, number>();
    r.behaviour = (_n, id) => {
      const k = (seen.get(id) ?? 0) + 1;
      seen.set(id, k);
      return k === 1 ? "error" : k === 2 ? "hang" : "ok";
    };
    await conversations(3, 2);
    deliverer();
    await until(() => r.applied.length === 9, 30_000, () => `9 events applied (got ${r.applied.length})`);
    await until(async () => (await deliveryCounts(t.db)).backlog === 0, 5_000, "nothing pending");
    const deliveries = await listDeliveries(t.db);
    expect(deliveries.every((d) => d.status === "delivered" && d.attempts === 3 && d.lastStatus === 204)).toBe(true);
    // Every event the database calls delivered, the receiver acknowledged.
    expect(new Set(r.applied)).toEqual(new Set(deliveries.map((d) => d.eventId)));
    expect(r.received.filter((x) => x.answered === "ok")).toHaveLength(9);
    expectPerTicketOrder(r, await eventOrder(t.db));
  });

  it("a dead endpoint does not hold up a live one", async () => {
    const { receiver, deliverer, conversations } = await setup();
    const dead = await receiver();
    const live = await receiver();
    dead.secrets = [(await addEndpoint(t.db, undefined, policy, { tenantId: "acme", url: dead.url })).secret];
    live.secrets = [(await addEndpoint(t.db, undefined, policy, { tenantId: "acme", url: live.url })).secret];
    dead.behaviour = () => "hang";
    await conversations(12, 0);
    deliverer();
    await until(() => live.applied.length === 12, 30_000, () => `the live endpoint has all 12 (got ${live.applied.length})`);
    expect(dead.applied).toEqual([]);
  });

  it("two deliverers at once send each event once, in order per ticket", async () => {
    const { receiver, deliverer, conversations } = await setup();
    const r = await receiver();
    r.secrets = [(await addEndpoint(t.db, undefined, policy, { tenantId: "acme", url: r.url })).secret];
    await conversations(20, 3);
    // A second replica: its own connection pool on PostgreSQL; on PGlite the same database.
    const second = backend === "postgres" ? openPostgres(t.url!) : t.db;
    if (second !== t.db) extraDbs.push(second);
    deliverer(t.db, { INLET_WEBHOOK_CONCURRENCY: "8" });
    deliverer(second, { INLET_WEBHOOK_CONCURRENCY: "8" });
    await until(() => r.applied.length === 80, 30_000, () => `80 events applied (got ${r.applied.length})`);
    await until(async () => (await deliveryCounts(t.db)).backlog === 0, 5_000, "nothing pending");
    expect(r.received).toHaveLength(80);
    expect(r.duplicates).toEqual([]);
    expectPerTicketOrder(r, await eventOrder(t.db));
  });

  it("rotate-secret: old secret alone, then old and new both, then the new one alone (secrets sealed under the key ring)", async () => {
    const ring = keyRing(keyEntry("k1"));
    const { mail, receiver, deliverer } = await setup(ring);
    const r = await receiver();
    const { endpoint, secret: old } = await addEndpoint(t.db, ring, policy, { tenantId: "acme", url: r.url });
    const [stored] = await t.db.query<{ secret: string; secret_key_id: string }>("SELECT secret, secret_key_id FROM webhook_endpoints");
    expect(stored).toMatchObject({ secret: expect.stringMatching(/^inlet:v1:k1:/), secret_key_id: "k1" });
    r.secrets = [old];
    deliverer();
    await mail(buildMail({ id: "r1@example.org", subject: "One" }));
    await until(() => r.applied.length === 1, 10_000, "the first event");
    const { secret: next } = await rotateSecret(t.db, ring, endpoint.id);
    r.secrets = [old, next];
    await mail(buildMail({ id: "r2@example.org", subject: "Two" }));
    await until(() => r.applied.length === 2, 10_000, "the second event");
    // The grace period over: only the new secret signs.
    await t.db.query("UPDATE webhook_endpoints SET previous_secret_until = now() - interval '1 second'");
    await mail(buildMail({ id: "r3@example.org", subject: "Three" }));
    await until(() => r.applied.length === 3, 10_000, "the third event");
    expect(r.rejected).toEqual([]);
    expect(r.received.filter((x) => x.answered === "ok").map((x) => x.verifiedBy)).toEqual([[0], [0, 1], [1]]);
  });
});
