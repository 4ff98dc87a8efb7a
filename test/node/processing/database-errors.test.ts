// Mail the database cannot take as it is, and failures the database reports: text is stored
// without NUL characters (the attachment keeps its bytes); a failure that would repeat the same
// way is permanent at once, a lost connection is retried, and each says why in its code (the
// condition's name, never the mail's content), which is what the retry log and the dead letter show.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProcessor } from "../../../consumer/processing/processor.ts";
import { Consumer } from "../../../consumer/runtime/consumer.ts";
import { InletError } from "../../../consumer/domain/errors.ts";
import type { ResolvedMessage } from "../../../consumer/domain/message.ts";
import { databaseFailure } from "../../../consumer/store/errors.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { openPostgres } from "../../../consumer/store/postgres.ts";
import { backends, testDatabase, type TestDatabase } from "../../support/database.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { imapJob, sleep, testQueue } from "../../support/queues.ts";

const encode = (lines: string[]) => new TextEncoder().encode(lines.join("\r\n"));

/** What a promise rejected with, as the InletError's disposition, code and message; a database
 * query's raw error is classified first. */
async function failure(work: Promise<unknown>, classify = true): Promise<{ disposition: string; code: string; message: string } | "resolved" | "not an InletError"> {
  try {
    await work;
    return "resolved";
  } catch (error) {
    const e = error instanceof InletError ? error : classify ? databaseFailure(error) : undefined;
    if (!e) return "not an InletError";
    return { disposition: e.disposition, code: e.code, message: e.message };
  }
}

describe.each(backends)("database errors on %s", (backend) => {
  let t: TestDatabase;
  let providerId: string;
  beforeAll(async () => {
    t = await testDatabase(backend);
    providerId = await new Mailboxes(t.db).add({ tenantId: "acme", kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
  });
  afterAll(async () => t.drop());
  const message = (raw: Uint8Array, uid: string): ResolvedMessage => ({ provider: "imap", tenantId: "acme", providerId, providerMessageId: uid, raw });

  it("a mail with NUL characters in its subject, sender name, text, HTML and attachment name becomes a ticket without them; the attachment keeps its bytes", async () => {
    const processor = createProcessor({ db: t.db });
    const attachment = Buffer.from("a\0b\0c");
    const raw = encode([
      "Message-ID: <nul@customer.example>",
      "From: =?utf-8?q?Ann=00Smith?= <ann@customer.example>",
      "To: support@helpdesk.example",
      "Subject: =?utf-8?q?VPN=00down?=",
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="b"',
      "",
      "--b",
      'Content-Type: multipart/alternative; boundary="a"',
      "",
      "--a",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "Line=00one",
      "--a",
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "<p>Line=00one</p>",
      "--a--",
      "--b",
      'Content-Type: application/octet-stream; name="=?utf-8?q?log=00.bin?="',
      'Content-Disposition: attachment; filename="=?utf-8?q?log=00.bin?="',
      "Content-Transfer-Encoding: base64",
      "",
      attachment.toString("base64"),
      "--b--",
      "",
    ]);
    expect(await processor.process(message(raw, "1:1"))).toMatchObject({ outcome: "processed", effect: "ticket" });
    const [ticket] = await t.db.query<{ subject: string; description_text: string; description_html: string; name: string }>(
      "SELECT t.subject, t.description_text, t.description_html, c.name FROM tickets t JOIN contacts c ON c.id = t.requester_id WHERE t.message_id = 'nul@customer.example'",
    );
    expect(ticket).toEqual({ subject: "VPNdown", description_text: "Lineone", description_html: "<p>Lineone</p>\n", name: "AnnSmith" });
    const [document] = await t.db.query<{ filename: string; content: Uint8Array }>("SELECT filename, content FROM documents");
    expect(document!.filename).toBe("log.bin");
    expect(Buffer.from(document!.content).equals(attachment)).toBe(true);
  });

  it("a value the schema refuses fails permanently at once, coded by its condition and naming no content", async () => {
    await t.db.query("ALTER TABLE tickets ADD CONSTRAINT subject_not_poison CHECK (subject <> 'Poison')");
    try {
      const processor = createProcessor({ db: t.db });
      const raw = encode(["Message-ID: <poison@customer.example>", "From: ann@customer.example", "To: support@helpdesk.example", "Subject: Poison", "", "Secret body", ""]);
      const failed = await failure(processor.process(message(raw, "1:2")), false);
      expect(failed).toEqual({ disposition: "dead_letter", code: "database_rejected:check_violation", message: "PostgreSQL error 23514 (check_violation)" });
    } finally {
      await t.db.query("ALTER TABLE tickets DROP CONSTRAINT subject_not_poison");
    }
  });

  it("data errors the server reports are permanent and named by their condition", async () => {
    expect(await failure(t.db.query("SELECT $1::text", ["a\0b"]))).toMatchObject({ disposition: "dead_letter", code: "database_rejected:character_not_in_repertoire" });
    expect(await failure(t.db.query("SELECT $1::integer", ["twelve"]))).toMatchObject({ disposition: "dead_letter", code: "database_rejected:invalid_text_representation" });
    // A Message-ID far beyond what a btree index row can hold.
    const huge = "SELECT 'acme', string_agg(md5(g::text), ''), 1, 'received' FROM generate_series(1, 300) g";
    expect(await failure(t.db.query(`INSERT INTO ticket_message_ids (tenant_id, message_id, ticket_id, direction) ${huge}`))).toMatchObject({ disposition: "dead_letter", code: "database_rejected:program_limit_exceeded" });
    expect(await failure(t.db.query("SELECT 1 FROM no_such_table"))).toMatchObject({ disposition: "retry", code: "database_error:42P01" });
  });
});

describe("database errors on PostgreSQL connections", () => {
  it("an unreachable server and a terminated backend are retryable database_unavailable", async () => {
    const closed = openPostgres("postgres://postgres@127.0.0.1:1/none", { max: 1 });
    expect(await failure(closed.query("SELECT 1"))).toMatchObject({ disposition: "retry", code: "database_unavailable:ECONNREFUSED" });
    await closed.close();
    const t = await testDatabase("postgres");
    try {
      expect(await failure(t.db.query("SELECT pg_terminate_backend(pg_backend_pid())"))).toMatchObject({ disposition: "retry", code: "database_unavailable:admin_shutdown" });
    } finally {
      await t.drop();
    }
  });

  it("through the claim loop: a refused value dead-letters on its first delivery with the condition as its last error", async () => {
    const t = await testDatabase("postgres");
    const q = testQueue("tcp", { backoffBaseMs: 20, backoffMaxMs: 40, blockSeconds: 0.05, idleMaxSeconds: 0.2, maxAttempts: 5 });
    const logs = captureLogs();
    const providerId = await new Mailboxes(t.db).add({ tenantId: "tenant-1", kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
    await t.db.query("ALTER TABLE tickets ADD CONSTRAINT subject_not_poison CHECK (subject <> 'Poison')");
    const processor = createProcessor({ db: t.db });
    const raw = encode(["Message-ID: <poison@customer.example>", "From: ann@customer.example", "To: support@helpdesk.example", "Subject: Poison", "", "Secret body", ""]);
    let deliveries = 0;
    const consumer = new Consumer({
      queue: q.consumer(),
      log: logs.log,
      concurrency: 1,
      handler: async () => {
        deliveries++;
        await processor.process({ provider: "imap", tenantId: "tenant-1", providerId, providerMessageId: "1:1", raw });
        return { outcome: "processed", messages: [] };
      },
    });
    consumer.start();
    try {
      await q.queue.enqueue([{ job: imapJob(1) }]);
      for (let waited = 0; consumer.counters.deadLettered === 0 && waited < 10_000; waited += 10) await sleep(10);
      expect(deliveries).toBe(1);
      expect(logs.events("inbound_email_queue_dlq")).toEqual([expect.objectContaining({ reason: "database_rejected:check_violation", attempts: 1 })]);
      const { records } = await q.queue.deadLetters();
      expect(records).toEqual([expect.objectContaining({ lastError: "database_rejected:check_violation" })]);
      expect(JSON.stringify(logs.lines())).not.toContain("Secret body");
    } finally {
      await consumer.stop();
      await q.close();
      await t.drop();
    }
  });
});
