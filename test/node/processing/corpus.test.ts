// Every committed fixture: its parse, its classification, its sender check, and what processing
// makes of it when the corpus arrives in order at one helpdesk mailbox.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classify } from "../../../consumer/mime/classify.ts";
import { parseMessage } from "../../../consumer/mime/parse.ts";
import { stripQuotedReply } from "../../../consumer/mime/quoted-reply.ts";
import { checkSender, type MailboxProvider } from "../../../consumer/mime/sender-check.ts";
import { DEFAULT_MAIL_OPTIONS } from "../../../consumer/mime/options.ts";
import { createProcessor } from "../../../consumer/processing/processor.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { testDatabase, type TestDatabase } from "../../support/database.ts";

interface Expectation {
  file: string;
  classification: string;
  bulk: boolean;
  /** The rule that decided (classify's `signal`). */
  signal?: string;
  delivery?: string;
  messageId?: string | null;
  inReplyTo?: string;
  /** The author's address; null when no header names a usable one. */
  from?: string | null;
  fromName?: string;
  fromSource?: string | null;
  cc?: string[];
  subject?: string;
  text?: string;
  textSource?: string;
  replyText?: string;
  replyTextStartsWith?: string;
  textContains?: string;
  textExcludes?: string[];
  attachments?: { filename: string; contentType: string; inline: boolean; contentId?: string }[];
  /** The mailbox provider whose Authentication-Results are believed (default imap). */
  provider?: MailboxProvider;
  suspicious?: boolean;
  suspiciousReason?: string;
  /** What processing must do: ticket, comment, note, or skipped:<reason>. */
  effect: string;
  ticket?: string;
}


const dir = "test/fixtures/mail";
const expected = JSON.parse(readFileSync(`${dir}/expected.json`, "utf8")) as { helpdeskAddress: string; trustedAuthservIds: string[]; fixtures: Expectation[] };
const raw = (file: string) => new Uint8Array(readFileSync(`${dir}/${file}`));
const count = (prefix: string) => expected.fixtures.filter((f) => f.file.startsWith(prefix)).length;

describe("fixture corpus", () => {
  it("has the breadth it claims: bounces and delays of 25+ MTAs, feedback reports, 10+ auto-replies and HTML-only mails, 20+ lookalikes", () => {
    expect(expected.fixtures.length).toBeGreaterThanOrEqual(140);
    expect(count("bounces/")).toBeGreaterThanOrEqual(35);
    expect(expected.fixtures.filter((f) => f.delivery === "delayed").length).toBeGreaterThanOrEqual(7);
    expect(count("feedback/")).toBeGreaterThanOrEqual(3);
    expect(count("auto-replies/")).toBeGreaterThanOrEqual(10);
    expect(count("html/")).toBeGreaterThanOrEqual(10);
    expect(count("lookalikes/")).toBeGreaterThanOrEqual(20);
    expect(expected.fixtures.filter((f) => f.file.startsWith("lookalikes/")).every((f) => f.classification === "normal" && f.effect === "ticket")).toBe(true);
  });

  it.each(expected.fixtures.map((f) => [f.file, f] as const))("%s parses and classifies as expected", async (file, e) => {
    const parsed = await parseMessage(raw(file));
    const verdict = classify(parsed, [expected.helpdeskAddress]);
    expect(verdict.classification).toBe(e.classification);
    expect(verdict.bulk).toBe(e.bulk);
    if (e.signal !== undefined) expect(verdict.signal).toBe(e.signal);
    if (e.classification === "normal") expect(verdict.signal).toBeUndefined();
    if (e.delivery !== undefined) expect(verdict.delivery).toBe(e.delivery);
    if (e.effect.startsWith("skipped:") && e.effect !== "skipped:auto_reply" && e.effect !== "skipped:bulk_mail") expect(verdict.skipReason).toBe(e.effect.slice(8));
    else expect(verdict.skipReason).toBeUndefined();
    if (e.messageId !== undefined) expect(parsed.messageId ?? null).toBe(e.messageId);
    if (e.inReplyTo) expect(parsed.inReplyTo).toBe(e.inReplyTo);
    if (e.from !== undefined) expect(parsed.from?.address ?? null).toBe(e.from);
    if (e.fromName !== undefined) expect(parsed.from?.name).toBe(e.fromName);
    if (e.fromSource !== undefined) expect(parsed.fromSource ?? null).toBe(e.fromSource);
    if (e.cc) expect(parsed.cc).toEqual(e.cc);
    if (e.subject) expect(parsed.subject).toBe(e.subject);
    if (e.text !== undefined) expect(parsed.text).toBe(e.text);
    if (e.textSource) expect(parsed.textSource).toBe(e.textSource);
    if (e.replyText) expect(stripQuotedReply(parsed.text)).toBe(e.replyText);
    if (e.replyTextStartsWith) expect(stripQuotedReply(parsed.text).startsWith(e.replyTextStartsWith)).toBe(true);
    if (e.textContains) expect(parsed.text).toContain(e.textContains);
    for (const absent of e.textExcludes ?? []) expect(parsed.text).not.toContain(absent);
    if (e.attachments) {
      expect(parsed.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, inline: a.inline, ...(a.contentId ? { contentId: a.contentId } : {}) }))).toEqual(e.attachments);
      for (const a of parsed.attachments) expect(a.size).toBe(a.content.byteLength);
    }
    const sender = checkSender(parsed.headers, { provider: e.provider ?? "imap", trustedAuthservIds: expected.trustedAuthservIds });
    expect(sender.suspicious).toBe(e.suspicious ?? false);
    if (e.suspiciousReason) expect(sender.reason).toBe(e.suspiciousReason);
  });
});

describe("fixture corpus through processing (PostgreSQL)", () => {
  let t: TestDatabase;
  // One mailbox of each provider, of one tenant: a fixture goes through the mailbox of the provider
  // whose Authentication-Results stamp it carries (IMAP when it names none).
  const providerIds = new Map<MailboxProvider, string>();
  beforeAll(async () => {
    t = await testDatabase("postgres");
    const mailboxes = new Mailboxes(t.db);
    providerIds.set("imap", await mailboxes.add({ tenantId: "acme", kind: "imap", address: expected.helpdeskAddress, credentials: { type: "imap", host: "127.0.0.1", port: 143, secure: false, user: expected.helpdeskAddress, password: "x" } }));
    providerIds.set("microsoft", await mailboxes.add({ tenantId: "acme", kind: "microsoft", address: "m365@acme.example", credentials: { type: "microsoft", azureTenantId: "e", clientId: "c", clientSecret: "s" } }));
    providerIds.set("google", await mailboxes.add({ tenantId: "acme", kind: "google", address: "gmail@acme.example", credentials: { type: "google", clientId: "c", clientSecret: "s", refreshToken: "r" } }));
  });
  afterAll(async () => t.drop());

  it("each message becomes the ticket, comment, note or skip its expectation names, in order", async () => {
    // The mailbox is an IMAP one whose server stamps Authentication-Results as the fixtures say.
    const processor = createProcessor({ db: t.db, mail: { ...DEFAULT_MAIL_OPTIONS, trustedAuthservIds: expected.trustedAuthservIds } });
    const ticketOf = new Map<string, string>();
    let stored = 0;
    for (const [i, e] of expected.fixtures.entries()) {
      const { effect, ticket } = e;
      const provider = e.provider ?? "imap";
      const outcome = await processor.process({ provider, tenantId: "acme", providerId: providerIds.get(provider)!, providerMessageId: `1:${i + 1}`, raw: raw(e.file) });
      if (effect.startsWith("skipped:")) {
        expect(outcome, e.file).toEqual({ outcome: "skipped", reason: effect.slice(8) });
        continue;
      }
      stored += (await parseMessage(raw(e.file))).attachments.length;
      expect(outcome, e.file).toMatchObject({ outcome: "processed", effect });
      const ticketId = outcome.outcome === "processed" ? outcome.ticketId! : "";
      if (effect === "ticket") ticketOf.set(e.file, ticketId);
      else expect(ticketId, e.file).toBe(ticketOf.get(ticket!));
    }
    const [docs] = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM documents");
    expect(docs!.n).toBe(stored);
    // A suspicious sender is marked on what the message became, with the reason.
    const marked = await t.db.query<{ message_id: string; suspicious_reason: string }>(
      "SELECT message_id, suspicious_reason FROM tickets WHERE suspicious UNION ALL SELECT message_id, suspicious_reason FROM ticket_comments WHERE suspicious",
    );
    const suspicious = expected.fixtures.filter((e) => e.suspicious && !e.effect.startsWith("skipped:"));
    expect(marked).toHaveLength(suspicious.length);
    expect(marked.every((m) => m.suspicious_reason)).toBe(true);
    const [note] = await t.db.query<{ is_internal_note: boolean; status: string }>("SELECT c.is_internal_note, t.status FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id WHERE c.message_id = 'OOF-A9@customer.example'");
    expect(note).toEqual({ is_internal_note: true, status: "open" });
  });
});

describe("a 20 MB attachment (generated at test time from a small template)", () => {
  it("parses with the attachment intact, and with the default limits is skipped deterministically as too large", async () => {
    const template = readFileSync(`${dir}/24-pdf-attachment.eml`, "utf8");
    const big = Buffer.alloc(20 * 1024 * 1024, 7).toString("base64").replace(/.{76}/g, "$&\r\n");
    const raw = new TextEncoder().encode(template.replace(/(filename="contract\.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n)[^-]+/, `$1${big}\r\n`));
    const parsed = await parseMessage(raw);
    expect(parsed.attachments[0]).toMatchObject({ filename: "contract.pdf", size: 20 * 1024 * 1024 });
    const t = await testDatabase("pglite");
    try {
      const mailboxes = new Mailboxes(t.db);
      const providerId = await mailboxes.add({ tenantId: "acme", kind: "imap", address: expected.helpdeskAddress, credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
      const processor = createProcessor({ db: t.db });
      const message = { provider: "imap" as const, tenantId: "acme", providerId, providerMessageId: "1:20mb", raw };
      expect(raw.byteLength).toBeGreaterThan(25 * 1024 * 1024); // base64 makes 20 MB into ~27 MB of mail
      expect(await processor.process(message)).toEqual({ outcome: "skipped", reason: "message_too_large" });
      expect(await processor.process(message)).toEqual({ outcome: "skipped", reason: "message_too_large" });
      const generous = createProcessor({ db: t.db, limits: { maxMessageBytes: 40 * 1024 * 1024, maxAttachmentBytes: 30 * 1024 * 1024 } });
      expect(await generous.process({ ...message, providerMessageId: "1:20mb-b", raw: new TextEncoder().encode(new TextDecoder().decode(raw).replace("K24@customer.example", "K24-big@customer.example")) })).toMatchObject({ outcome: "processed", effect: "ticket" });
      const [doc] = await t.db.query<{ size: number }>("SELECT size FROM documents");
      expect(doc!.size).toBe(20 * 1024 * 1024);
    } finally {
      await t.drop();
    }
  });
});
