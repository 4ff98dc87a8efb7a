// The console's deliveries page and the webhook metrics go through deliveryOperations(), which
// must be the same functions `inlet webhooks deliveries|redeliver` run, over the real outbox.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveryOperations } from "../../../consumer/delivery/console-operations.ts";
import { testDatabase, type TestDatabase } from "../../support/database.ts";

let t: TestDatabase;

beforeAll(async () => {
  t = await testDatabase("pglite");
  await t.db.query("INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')");
  await t.db.query("INSERT INTO webhook_endpoints (id, tenant_id, url, secret) VALUES ('whep_1', 'acme', 'https://helpdesk.example/hooks', 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0')");
  for (const [i, status] of (["failed", "failed", "delivered", "pending"] as const).entries()) {
    const [event] = await t.db.query<{ seq: string }>("INSERT INTO delivery_events (id, tenant_id, type, message) VALUES ($1, 'acme', 'ticket.created', '{}'::jsonb) RETURNING seq::text AS seq", [`evt_${i}`]);
    await t.db.query("INSERT INTO webhook_deliveries (event_seq, endpoint_id, status, attempts, last_status, last_error) VALUES ($1, 'whep_1', $2, $3, $4, $5)", [event!.seq, status, status === "failed" ? 9 : 1, status === "failed" ? 503 : 200, status === "failed" ? "HTTP 503 from the endpoint" : null]);
  }
});

afterAll(async () => {
  await t?.drop();
});

describe("the delivery operations the console and the metrics use", () => {
  it("lists and counts what the outbox holds, and redelivers one or every failed delivery; an unknown id is false, not an error", async () => {
    const ops = deliveryOperations(t.db);
    expect(await ops.counts()).toEqual({ pending: 1, failed: 2 });
    const failed = await ops.list({ failedOnly: true, limit: 10 });
    expect(failed.map((d) => [d.eventId, d.status, d.attempts, d.url, d.lastError])).toEqual([
      ["evt_1", "failed", 9, "https://helpdesk.example/hooks", "HTTP 503 from the endpoint"],
      ["evt_0", "failed", 9, "https://helpdesk.example/hooks", "HTTP 503 from the endpoint"],
    ]);
    expect((await ops.list({ failedOnly: false, limit: 10 })).length).toBe(4);
    for (const record of failed) expect(JSON.stringify(record)).not.toContain("whsec_");

    expect(await ops.redeliver("999999")).toBe(false);
    expect(await ops.redeliver("not-a-number")).toBe(false);
    expect(await ops.redeliver(failed[0]!.id)).toBe(true);
    expect(await ops.counts()).toEqual({ pending: 2, failed: 1 });
    expect(await ops.redeliverAllFailed()).toBe(1);
    expect(await ops.counts()).toEqual({ pending: 3, failed: 0 });
  });
});
