// Exactly once: duplicates (repeated notifications, two providers, concurrent deliveries) give
// one ticket; a conversation in mixed order threads into one ticket; limits skip or drop with a note.
import { afterEach, describe, expect, it } from "vitest";
import { createProcessor } from "../../../consumer/processing/processor.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import type { ResolvedMessage } from "../../../consumer/domain/message.ts";
import { backends, testDatabase, type TestDatabase } from "../../support/database.ts";
import { buildMail } from "../../support/mail.ts";

describe.each(backends)("processing on %s", (backend) => {
  let t: TestDatabase;
  afterEach(async () => t.drop());

  async function setup(limits = {}) {
    t = await testDatabase(backend);
    const mailboxes = new Mailboxes(t.db);
    const imap = await mailboxes.add({ tenantId: "acme", kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    const microsoft = await mailboxes.add({ tenantId: "acme", kind: "microsoft", address: "helpdesk@acme.example", credentials: { type: "microsoft", azureTenantId: "t", clientId: "c", clientSecret: "s" } });
    return { processor: createProcessor({ db: t.db, limits }), imap, microsoft };
  }
  const count = async (table: string) => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

  it("the same message notified 3 times and through 2 providers gives one ticket", async () => {
    const { processor, imap, microsoft } = await setup();
    const raw = buildMail({ id: "once@example.org" });
    const viaImap = (n: number): ResolvedMessage => ({ provider: "imap", tenantId: "acme", providerId: imap, providerMessageId: `7:${n}`, raw });
    const first = await processor.process(viaImap(1));
    expect(first).toMatchObject({ outcome: "processed", effect: "ticket" });
    expect(await processor.process(viaImap(1))).toMatchObject({ outcome: "processed", effect: "duplicate", ticketId: (first as { ticketId: string }).ticketId });
    expect(await processor.process(viaImap(1))).toMatchObject({ effect: "duplicate" });
    expect(await processor.process({ provider: "microsoft", tenantId: "acme", providerId: microsoft, providerMessageId: "AAMkAD-immutable", raw })).toMatchObject({ effect: "duplicate" });
    expect(await count("tickets")).toBe(1);
    expect(await count("email_processed_messages")).toBe(1);
  });

  it("five concurrent deliveries of one message give one ticket", async () => {
    const { processor, imap } = await setup();
    const raw = buildMail({ id: "race@example.org", attachment: { filename: "a.txt", contentType: "text/plain", bytes: new TextEncoder().encode("hello") } });
    const outcomes = await Promise.all(Array.from({ length: 5 }, (_, i) => processor.process({ provider: "imap", tenantId: "acme", providerId: imap, providerMessageId: `1:${i}`, raw })));
    expect(outcomes.filter((o) => o.outcome === "processed" && o.effect === "ticket")).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === "processed" && o.effect === "duplicate")).toHaveLength(4);
    expect(await count("tickets")).toBe(1);
    expect(await count("documents")).toBe(1);
  });

  it("a conversation of 5 messages in mixed order threads into one ticket with 4 comments", async () => {
    const { processor, imap } = await setup();
    const ids = ["c1@example.org", "c2@example.org", "c3@example.org", "c4@example.org", "c5@example.org"];
    const mails = ids.map((id, i) => buildMail({ id, subject: i === 0 ? "VPN broken" : "Re: VPN broken", ...(i > 0 ? { inReplyTo: ids[i - 1]!, references: ids.slice(0, i) } : {}), body: `Message ${i + 1}` }));
    for (const i of [2, 0, 4, 1, 3]) await processor.process({ provider: "imap", tenantId: "acme", providerId: imap, providerMessageId: `1:${i}`, raw: mails[i]! });
    expect(await count("tickets")).toBe(1);
    expect(await count("ticket_comments")).toBe(4);
    const [ticket] = await t.db.query<{ description_text: string }>("SELECT description_text FROM tickets");
    expect(ticket!.description_text).toBe("Message 3"); // the first to arrive opened the ticket
  });

  it("a reply to a closed ticket reopens it", async () => {
    const { processor, imap } = await setup();
    const first = await processor.process({ provider: "imap", tenantId: "acme", providerId: imap, providerMessageId: "1:1", raw: buildMail({ id: "r1@example.org" }) });
    await t.db.query("UPDATE tickets SET status = 'closed'");
    const reply = await processor.process({ provider: "imap", tenantId: "acme", providerId: imap, providerMessageId: "1:2", raw: buildMail({ id: "r2@example.org", inReplyTo: "r1@example.org" }) });
    expect(reply).toMatchObject({ effect: "comment", ticketId: (first as { ticketId: string }).ticketId });
    expect((await t.db.query<{ status: string }>("SELECT status FROM tickets"))[0]!.status).toBe("open");
  });

  it("limits: a too-large message is skipped deterministically; an oversized attachment is dropped with a note", async () => {
    const { processor, imap } = await setup({ maxMessageBytes: 50_000, maxAttachmentBytes: 10_000 });
    const huge = buildMail({ id: "huge@example.org", body: "x".repeat(60_000) });
    expect(await processor.process({ provider: "imap", tenantId: "acme", providerId: imap, providerMessageId: "1:1", raw: huge })).toEqual({ outcome: "skipped", reason: "message_too_large" });
    expect(await processor.process({ provider: "imap", tenantId: "acme", providerId: imap, providerMessageId: "1:1", raw: huge })).toEqual({ outcome: "skipped", reason: "message_too_large" });
    const big = buildMail({ id: "big-attachment@example.org", attachment: { filename: "dump.bin", contentType: "application/octet-stream", bytes: new Uint8Array(20_000) } });
    expect(await processor.process({ provider: "imap", tenantId: "acme", providerId: imap, providerMessageId: "1:2", raw: big })).toMatchObject({ outcome: "processed", effect: "ticket" });
    expect(await count("documents")).toBe(0);
    const [note] = await t.db.query<{ body_text: string; is_internal_note: boolean }>("SELECT body_text, is_internal_note FROM ticket_comments");
    expect(note).toEqual({ body_text: "Attachments not stored (over 9.8 KB each): dump.bin (19.5 KB)", is_internal_note: true });
  });
});
