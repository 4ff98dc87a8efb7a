// Processing rules beyond the fixture corpus: identity without a Message-ID, bulk mail by the
// mailbox's setting, out-of-office on pending and closed tickets, a disconnected mailbox,
// per-tenant ticket numbers under concurrency, and deterministic skips on redelivery.
// One database per backend; every test works in a tenant of its own.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProcessor } from "../../../consumer/processing/processor.ts";
import type { ResolvedMessage } from "../../../consumer/domain/message.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { backends, testDatabase, type TestDatabase } from "../../support/database.ts";
import { buildMail } from "../../support/mail.ts";

const encode = (lines: string[]) => new TextEncoder().encode(lines.join("\r\n"));

describe.each(backends)("processing rules on %s", (backend) => {
  let t: TestDatabase;
  let tenantN = 0;
  beforeAll(async () => {
    t = await testDatabase(backend);
  });
  afterAll(async () => t.drop());

  async function tenant(options: { bulkMailOpensTickets?: boolean } = {}) {
    const tenantId = `tenant-${tenantN++}`;
    const mailboxes = new Mailboxes(t.db);
    const imap = await mailboxes.add({ tenantId, kind: "imap", address: `support-${tenantId}@helpdesk.example`, credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" }, ...options });
    const processor = createProcessor({ db: t.db, settingsTtlMs: 0 });
    const message = (raw: Uint8Array, providerMessageId: string, providerId = imap): ResolvedMessage => ({ provider: "imap", tenantId, providerId, providerMessageId, raw });
    const one = async <T>(sql: string, params: string[] = []) => (await t.db.query<T>(sql, [tenantId, ...params]))[0]!;
    return { tenantId, mailboxes, imap, processor, message, one };
  }

  it("without a Message-ID the identity is the mailbox's own id: the same UID in two mailboxes is two messages, a redelivery is one", async () => {
    const { tenantId, mailboxes, processor, message, imap, one } = await tenant();
    const other = await mailboxes.add({ tenantId, kind: "imap", address: `sales-${tenantId}@helpdesk.example`, credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    const raw = encode(["From: Ann <ann@customer.example>", "To: support@helpdesk.example", "Subject: No id here", "", "Hello", ""]);
    expect(await processor.process(message(raw, "1:5"))).toMatchObject({ outcome: "processed", effect: "ticket" });
    expect(await processor.process(message(raw, "1:5", other))).toMatchObject({ outcome: "processed", effect: "ticket" });
    expect(await processor.process(message(raw, "1:5"))).toMatchObject({ outcome: "processed", effect: "duplicate" });
    expect(await one<{ n: number }>("SELECT count(*)::int AS n FROM tickets WHERE tenant_id = $1")).toEqual({ n: 2 });
    const identities = await t.db.query<{ identity: string }>("SELECT identity FROM email_processed_messages WHERE tenant_id = $1 ORDER BY identity", [tenantId]);
    expect(identities.map((r) => r.identity)).toEqual([`imap:${imap}:1:5`, `imap:${other}:1:5`].sort());
  });

  it("bulk mail is skipped as bulk_mail unless the mailbox lets it open tickets", async () => {
    const list = (id: string) => encode([`Message-ID: <${id}>`, "From: News <news@vendor.example>", "To: support@helpdesk.example", "Subject: Monthly digest", "List-Id: <digest.vendor.example>", "List-Unsubscribe: <mailto:leave@vendor.example>", "", "News", ""]);
    const closed = await tenant();
    expect(await closed.processor.process(closed.message(list(`bulk-a-${closed.tenantId}@vendor.example`), "1:1"))).toEqual({ outcome: "skipped", reason: "bulk_mail" });
    const open = await tenant({ bulkMailOpensTickets: true });
    expect(await open.processor.process(open.message(list(`bulk-b-${open.tenantId}@vendor.example`), "1:1"))).toMatchObject({ outcome: "processed", effect: "ticket" });
  });

  it("an out-of-office answer to a pending ticket becomes an internal note and leaves it pending; to a closed ticket it is skipped", async () => {
    const { tenantId, processor, message, one } = await tenant();
    const first = await processor.process(message(buildMail({ id: `q-${tenantId}@customer.example` }), "1:1"));
    const ticketId = first.outcome === "processed" ? first.ticketId! : "";
    await t.db.query("UPDATE tickets SET status = 'pending' WHERE id = $1", [Number(ticketId)]);
    const oof = (id: string) =>
      encode([`Message-ID: <${id}>`, `In-Reply-To: <q-${tenantId}@customer.example>`, "From: Ann <ann@customer.example>", "To: support@helpdesk.example", "Subject: Automatic reply: Request", "Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All", "", "I am out of the office until Monday.", ""]);
    expect(await processor.process(message(oof(`oof1-${tenantId}@customer.example`), "1:2"))).toMatchObject({ outcome: "processed", effect: "note", ticketId });
    expect(await one<{ status: string }>("SELECT status FROM tickets WHERE tenant_id = $1")).toEqual({ status: "pending" });
    expect(await one<{ is_internal_note: boolean }>("SELECT c.is_internal_note FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id WHERE t.tenant_id = $1")).toEqual({ is_internal_note: true });
    await t.db.query("UPDATE tickets SET status = 'closed' WHERE id = $1", [Number(ticketId)]);
    expect(await processor.process(message(oof(`oof2-${tenantId}@customer.example`), "1:3"))).toEqual({ outcome: "skipped", reason: "auto_reply" });
    expect(await one<{ status: string }>("SELECT status FROM tickets WHERE tenant_id = $1")).toEqual({ status: "closed" });
  });

  it("a skip is recorded, so a redelivery gives the same skip; a bounce never touches the ticket it names", async () => {
    const { tenantId, processor, message, one } = await tenant();
    await processor.process(message(buildMail({ id: `b0-${tenantId}@customer.example` }), "1:1"));
    const bounce = encode([`Message-ID: <b1-${tenantId}@mx.example>`, `In-Reply-To: <b0-${tenantId}@customer.example>`, "From: MAILER-DAEMON@mx.example", "To: support@helpdesk.example", "Subject: Undelivered Mail Returned to Sender", "", "This is the mail system.", ""]);
    expect(await processor.process(message(bounce, "1:2"))).toEqual({ outcome: "skipped", reason: "bounce" });
    expect(await processor.process(message(bounce, "1:2"))).toEqual({ outcome: "skipped", reason: "bounce" });
    expect(await one<{ n: number }>("SELECT count(*)::int AS n FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id WHERE t.tenant_id = $1")).toEqual({ n: 0 });
    expect(await one<{ status: string; reason: string }>("SELECT status, reason FROM email_processed_messages WHERE tenant_id = $1 AND identity = $2", [`b1-${tenantId}@mx.example`])).toEqual({ status: "skipped", reason: "bounce" });
  });

  it("a message for a disconnected mailbox is skipped as provider_not_found", async () => {
    const { mailboxes, imap, processor, message, tenantId } = await tenant();
    await mailboxes.remove(imap);
    expect(await processor.process(message(buildMail({ id: `gone-${tenantId}@customer.example` }), "1:1"))).toEqual({ outcome: "skipped", reason: "provider_not_found" });
  });

  it("a sender is one contact, the requester of its tickets and author of its replies; a name is learnt once and not overwritten", async () => {
    const { tenantId, processor, message, one } = await tenant();
    const mail = (n: number, from: string, extra: string[] = []) =>
      encode([`From: ${from}`, "To: support@helpdesk.example", `Message-ID: <c${n}-${tenantId}@customer.example>`, ...extra, "Subject: Login", "", `Mail ${n}`, ""]);
    await processor.process(message(mail(1, "ann@customer.example"), "1:1"));
    await processor.process(message(mail(2, "Ann Smith <ann@customer.example>", [`In-Reply-To: <c1-${tenantId}@customer.example>`]), "1:2"));
    await processor.process(message(mail(3, "Annie <ANN@customer.example>"), "1:3"));
    // Five first mails from one new sender at once: still one contact.
    await Promise.all([4, 5, 6, 7, 8].map((n) => processor.process(message(mail(n, `Bob <bob@customer.example>`), `1:${n}`))));
    expect(await t.db.query("SELECT email, name FROM contacts WHERE tenant_id = $1 ORDER BY email", [tenantId])).toEqual([
      { email: "ann@customer.example", name: "Ann Smith" },
      { email: "bob@customer.example", name: "Bob" },
    ]);
    expect(await one("SELECT count(*)::int AS n FROM tickets t JOIN contacts c ON c.id = t.requester_id WHERE t.tenant_id = $1")).toEqual({ n: 7 });
    expect(await one("SELECT c.email FROM ticket_comments m JOIN tickets t ON t.id = m.ticket_id JOIN contacts c ON c.id = m.author_id WHERE t.tenant_id = $1")).toEqual({ email: "ann@customer.example" });
  });

  it("a known sender's contact deleted since their last mail is created again and named requester of the new ticket", async () => {
    const { tenantId, processor, message, one } = await tenant();
    const mail = (n: number) => encode(["From: Carl <carl@customer.example>", "To: support@helpdesk.example", `Message-ID: <k${n}-${tenantId}@customer.example>`, `Subject: Printer ${n}`, "", `Mail ${n}`, ""]);
    expect(await processor.process(message(mail(1), "1:1"))).toMatchObject({ effect: "ticket" });
    const first = await one<{ id: number }>("SELECT id FROM contacts WHERE tenant_id = $1");
    // An agent removes the contact (its ticket no longer names it): the processor still remembers the id.
    await t.db.query("UPDATE tickets SET requester_id = NULL WHERE tenant_id = $1", [tenantId]);
    await t.db.query("DELETE FROM contacts WHERE tenant_id = $1", [tenantId]);
    const second = await processor.process(message(mail(2), "1:2"));
    expect(second).toMatchObject({ outcome: "processed", effect: "ticket" });
    const again = await one<{ id: number; name: string }>("SELECT id, name FROM contacts WHERE tenant_id = $1");
    expect(again.id).not.toBe(first.id);
    expect(again.name).toBe("Carl");
    expect(await one("SELECT requester_id FROM tickets WHERE tenant_id = $1 AND subject = 'Printer 2'")).toEqual({ requester_id: again.id });
  });

  it("20 different messages processed concurrently get ticket numbers 1..20 of their tenant, none shared", async () => {
    const { tenantId, processor, message } = await tenant();
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => processor.process(message(buildMail({ id: `n${i}-${tenantId}@customer.example` }), `1:${i}`))));
    expect(outcomes.every((o) => o.outcome === "processed" && o.effect === "ticket")).toBe(true);
    const numbers = await t.db.query<{ number: number }>("SELECT number FROM tickets WHERE tenant_id = $1 ORDER BY number", [tenantId]);
    expect(numbers.map((r) => r.number)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("a reply found by the subject token alone joins that ticket; a token naming no ticket opens a new one", async () => {
    const { tenantId, processor, message } = await tenant();
    const first = await processor.process(message(buildMail({ id: `tok0-${tenantId}@customer.example`, subject: "Printer" }), "1:1"));
    const reply = await processor.process(message(buildMail({ id: `tok1-${tenantId}@other.example`, subject: "RE: [#1] Printer" }), "1:2"));
    expect(reply).toMatchObject({ outcome: "processed", effect: "comment", ticketId: (first as { ticketId: string }).ticketId });
    expect(await processor.process(message(buildMail({ id: `tok2-${tenantId}@other.example`, subject: "RE: [#999] Printer" }), "1:3"))).toMatchObject({ effect: "ticket" });
  });

  it("a 20 MB attachment (generated from a small fixture) under the default 10 MB attachment limit is dropped with a note; the ticket is still created", async () => {
    const { tenantId, message, one } = await tenant();
    const template = readFileSync("test/fixtures/mail/24-pdf-attachment.eml", "utf8");
    const big = Buffer.alloc(20 * 1024 * 1024, 9).toString("base64").replace(/.{76}/g, "$&\r\n");
    const raw = new TextEncoder().encode(
      template.replace("K24@customer.example", `K24-${tenantId}@customer.example`).replace(/(filename="contract\.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n)[^-]+/, `$1${big}\r\n`),
    );
    const processor = createProcessor({ db: t.db, limits: { maxMessageBytes: 30 * 1024 * 1024 } });
    expect(await processor.process(message(raw, "1:1"))).toMatchObject({ outcome: "processed", effect: "ticket" });
    expect(await one<{ n: number }>("SELECT count(*)::int AS n FROM documents WHERE tenant_id = $1")).toEqual({ n: 0 });
    expect(await one<{ body_text: string; is_internal_note: boolean }>("SELECT c.body_text, c.is_internal_note FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id WHERE t.tenant_id = $1")).toEqual({
      body_text: "Attachments not stored (over 10 MB each): contract.pdf (20 MB)",
      is_internal_note: true,
    });
  });
});
