// Webhook delivery from the outbox: every effect announced once with a stable id, signed so that
// the standardwebhooks package verifies it, in order per ticket; message.skipped only for an
// endpoint that asks; payloads valid against docs/webhook-event.schema.json.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { Deliverer } from "../../../consumer/delivery/deliverer.ts";
import { addEndpoint } from "../../../consumer/delivery/endpoints.ts";
import { deliveryCounts, listDeliveries } from "../../../consumer/delivery/operations.ts";
import { createProcessor } from "../../../consumer/processing/processor.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { schemaText } from "../../../scripts/build-webhook-schema.ts";
import { backends, testDatabase, type TestDatabase } from "../../support/database.ts";
import { testDeliveryConfig, withHeaders } from "../../support/delivery.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { buildMail } from "../../support/mail.ts";
import { until } from "../../support/until.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../support/webhook-receiver.ts";

const schemaFile = new URL("../../../docs/webhook-event.schema.json", import.meta.url);
const policy = { allowInsecureLoopback: true, allowPrivateAddresses: false };

it("docs/webhook-event.schema.json is the schema the code declares (npm run build:webhook-schema)", () => {
  expect(readFileSync(schemaFile, "utf8")).toBe(schemaText());
});

describe.each(backends)("webhooks on %s", (backend) => {
  let t: TestDatabase;
  let receiver: WebhookReceiver;
  let deliverer: Deliverer | undefined;
  afterEach(async () => {
    await deliverer?.stop();
    deliverer = undefined;
    await receiver?.close();
    await t.drop();
  });

  async function setup() {
    t = await testDatabase(backend);
    const imap = await new Mailboxes(t.db).add({ tenantId: "acme", kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    receiver = await startWebhookReceiver();
    const { log } = captureLogs();
    const processor = createProcessor({ db: t.db, onDeliveriesQueued: () => deliverer?.nudge() });
    const start = () => {
      deliverer = new Deliverer({ db: t.db, secrets: undefined, config: testDeliveryConfig(), render: { publicUrl: "http://inlet.test", inlineMaxBytes: 16 }, log });
      deliverer.start();
    };
    let n = 0;
    const process = (raw: Uint8Array) => processor.process({ provider: "imap", tenantId: "acme", providerId: imap, providerMessageId: `1:${++n}`, raw });
    return { imap, process, start };
  }

  it("a ticket, its reply and an out-of-office note arrive once each, verified, in order, valid against the schema", async () => {
    const { process, start } = await setup();
    const { secret } = await addEndpoint(t.db, undefined, policy, { tenantId: "acme", url: receiver.url });
    receiver.secrets = [secret];
    const ticket = buildMail({ id: "t1@example.org", subject: "Printer on fire", body: "It burns.", attachment: { filename: "fire.txt", contentType: "text/plain", bytes: new TextEncoder().encode("smoke") } });
    const reply = buildMail({ id: "t2@example.org", subject: "Re: Printer on fire", inReplyTo: "t1@example.org", references: ["t1@example.org"], body: "Still burning.\n\nOn Monday someone wrote:\n> It burns." });
    const ooo = withHeaders(buildMail({ id: "t3@example.org", subject: "Out of office", inReplyTo: "t1@example.org", references: ["t1@example.org"] }), "Auto-Submitted: auto-replied");
    const bounce = withHeaders(buildMail({ id: "t4@example.org", subject: "Loop" }), "X-Loop: support@helpdesk.example");
    for (const raw of [ticket, reply, ooo, bounce]) await process(raw);
    await process(ticket); // a redelivery of the first: no second event
    start();
    await until(() => receiver.applied.length === 3, 15_000, () => `3 events applied (got ${receiver.applied.length})`);
    await until(async () => (await deliveryCounts(t.db)).backlog === 0, 5_000, "nothing pending");
    expect(receiver.received.map((r) => r.type)).toEqual(["ticket.created", "ticket.replied", "ticket.noted"]);
    expect(receiver.duplicates).toEqual([]);
    expect(receiver.rejected).toEqual([]);
    const [created, replied] = receiver.received.map((r) => r.payload);
    expect(created!.data.ticket).toEqual({ number: 1, subject: "Printer on fire", status: "open" });
    expect(created!.data).toMatchObject({ tenantId: "acme", message: { messageId: "t1@example.org", from: { address: "customer@example.org" }, to: ["support@helpdesk.example"], text: expect.stringContaining("It burns."), classification: "normal" } });
    expect(created!.data.documents).toEqual([expect.objectContaining({ filename: "fire.txt", size: 5, url: expect.stringMatching(/^http:\/\/inlet\.test\/v1\/documents\/\d+$/), content: Buffer.from("smoke").toString("base64") })]);
    expect(replied!.data).toMatchObject({ ticket: { number: 1 }, comment: { internal: false }, message: { inReplyTo: "t1@example.org", references: ["t1@example.org"], replyText: "Still burning." } });
    // Real payloads against the committed JSON Schema (converted by zod's own reader).
    const schema = z.fromJSONSchema(JSON.parse(readFileSync(schemaFile, "utf8")) as Parameters<typeof z.fromJSONSchema>[0]);
    for (const r of receiver.received) expect(schema.safeParse(JSON.parse(r.body)).error).toBeUndefined();
    expect(await listDeliveries(t.db)).toHaveLength(3);
    expect((await listDeliveries(t.db)).every((d) => d.status === "delivered" && d.lastStatus === 204)).toBe(true);
  });

  it("the event id is derived from the message: the same mail delivered twice is one event and one delivery", async () => {
    const { process } = await setup();
    await addEndpoint(t.db, undefined, policy, { tenantId: "acme", url: receiver.url });
    const raw = buildMail({ id: "same@example.org" });
    await process(raw);
    await process(raw);
    const events = await t.db.query<{ id: string }>("SELECT id FROM delivery_events");
    expect(events).toHaveLength(1);
    expect(events[0]!.id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(await t.db.query("SELECT 1 FROM webhook_deliveries")).toHaveLength(1);
  });

  it("an apply that rolls back leaves neither effect nor event; its retry writes both, once", async () => {
    const { process } = await setup();
    await addEndpoint(t.db, undefined, policy, { tenantId: "acme", url: receiver.url });
    // The last write of apply_message() fails: everything before it, event included, rolls back.
    await t.db.query("CREATE FUNCTION refuse_claim() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'crash before commit'; END $$");
    await t.db.query("CREATE TRIGGER refuse_claim BEFORE INSERT ON email_processed_messages FOR EACH ROW EXECUTE FUNCTION refuse_claim()");
    const raw = buildMail({ id: "rollback@example.org" });
    await expect(process(raw)).rejects.toThrow();
    const count = async (table: string) => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;
    expect([await count("tickets"), await count("delivery_events"), await count("webhook_deliveries")]).toEqual([0, 0, 0]);
    await t.db.query("DROP TRIGGER refuse_claim ON email_processed_messages");
    await process(raw);
    await process(raw);
    expect([await count("tickets"), await count("delivery_events"), await count("webhook_deliveries")]).toEqual([1, 1, 1]);
  });

  it("message.skipped only for an endpoint that asks for it; an endpoint for ticket.created alone gets no replies", async () => {
    const { process, start } = await setup();
    const skips = await addEndpoint(t.db, undefined, policy, { tenantId: "acme", url: receiver.url, events: ["message.skipped"] });
    const created = await addEndpoint(t.db, undefined, policy, { tenantId: "acme", url: receiver.url, events: ["ticket.created"] });
    receiver.secrets = [skips.secret, created.secret];
    await process(withHeaders(buildMail({ id: "loop@example.org" }), "X-Loop: support@helpdesk.example"));
    await process(buildMail({ id: "n1@example.org", subject: "New" }));
    await process(buildMail({ id: "n2@example.org", subject: "Re: New", inReplyTo: "n1@example.org" }));
    start();
    await until(() => receiver.applied.length === 2, 15_000, "2 events");
    await until(async () => (await deliveryCounts(t.db)).backlog === 0, 5_000, "nothing pending");
    const byType = Object.fromEntries(receiver.received.map((r) => [r.type, r]));
    expect(Object.keys(byType).sort()).toEqual(["message.skipped", "ticket.created"]);
    expect(byType["message.skipped"]!.verifiedBy).toEqual([0]);
    expect(byType["message.skipped"]!.payload.data).toMatchObject({ ticket: null, reason: "loop", documents: [] });
    expect(byType["ticket.created"]!.verifiedBy).toEqual([1]);
  });
});
