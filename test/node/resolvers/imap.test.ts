// IMAP resolver against a real Dovecot: exact bytes, UIDVALIDITY change, missing UID, wrong
// password, and a server restart in the middle of a job.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImapFlow } from "imapflow";
import { createImapResolver } from "../../../consumer/resolvers/imap.ts";
import { InletError } from "../../../consumer/runtime/errors.ts";
import type { MailboxRecord } from "../../../consumer/runtime/handler.ts";
import type { Job } from "../../../src/queue/job.ts";
import { startDovecot, type Dovecot } from "../../../consumer/dev/dovecot.ts";
import { MemoryDirectory } from "../../support/mailboxes.ts";
import { buildMail } from "../../support/mail.ts";
import { RecordingProcessor } from "../../support/recording-processor.ts";

const USER = "imap-resolver@example.com";
const PASSWORD = "imap-resolver-secret";
let dovecot: Dovecot;
beforeAll(async () => {
  dovecot = await startDovecot([{ user: USER, password: PASSWORD }]);
});
afterAll(async () => dovecot?.stop());

const mailbox = (password = PASSWORD): MailboxRecord => ({ providerId: "imap-1", tenantId: "t1", kind: "imap", address: USER, credentials: { type: "imap", host: dovecot.host, port: dovecot.port, secure: false, user: USER, password }, cursors: {}, bulkMailOpensTickets: false });
const job = (uidValidity: string, uid: number): Job => ({ jobId: "j", schemaVersion: 1, provider: "imap", tenantId: "t1", providerId: "imap-1", enqueuedAt: 0, attempt: 0, pointer: { mailbox: "INBOX", uidValidity, uid } });

async function inboxState(): Promise<{ uidValidity: string; uids: number[] }> {
  const client = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: USER, pass: PASSWORD }, logger: false });
  await client.connect();
  const box = await client.mailboxOpen("INBOX", { readOnly: true });
  const uids = (await client.search({ all: true }, { uid: true })) || [];
  await client.logout();
  return { uidValidity: String(box.uidValidity), uids };
}

const failure = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return "no error";
  } catch (error) {
    return error instanceof InletError ? `${error.disposition}:${error.code}` : `other:${String(error)}`;
  }
};

describe("IMAP resolver against Dovecot", () => {
  it("fetches the exact source by UID and hands it to processing", async () => {
    const raw = buildMail({ id: "imap-exact@example.org", body: "line one\r\n\r\n..dot-stuffed?\r\nend" });
    await dovecot.deliver(USER, raw);
    const { uidValidity, uids } = await inboxState();
    const resolver = createImapResolver({ timeoutMs: 5000 });
    const processor = new RecordingProcessor();
    const m = mailbox();
    const outcome = await resolver.handle({ job: job(uidValidity, uids.at(-1)!), mailbox: m, directory: new MemoryDirectory([m]), processor, signal: new AbortController().signal });
    expect(outcome).toMatchObject({ outcome: "processed" });
    expect(processor.received[0]?.providerMessageId).toBe(`${uidValidity}:${uids.at(-1)}`);
    expect(Buffer.from(processor.received[0]!.raw).equals(Buffer.from(raw))).toBe(true);
    await resolver.close();
  });

  it("UIDVALIDITY mismatch skips and flags the mailbox for resync; a missing UID skips", async () => {
    const { uidValidity } = await inboxState();
    const resolver = createImapResolver({ timeoutMs: 5000 });
    const m = mailbox();
    const directory = new MemoryDirectory([m]);
    const context = (j: Job) => ({ job: j, mailbox: m, directory, processor: new RecordingProcessor(), signal: new AbortController().signal });
    expect(await failure(resolver.handle(context(job("1", 1))))).toBe("skip:source_unavailable:imap_uidvalidity_changed");
    expect((await directory.get("imap-1"))?.cursors.needsResync).toBe(true);
    expect(await failure(resolver.handle(context(job(uidValidity, 999_999))))).toBe("skip:source_unavailable:imap_message_not_found");
    await resolver.close();
  });

  it("a wrong password is permanent", async () => {
    const resolver = createImapResolver({ timeoutMs: 5000 });
    const m = mailbox("wrong-password");
    expect(await failure(resolver.handle({ job: job("1", 1), mailbox: m, directory: new MemoryDirectory([m]), processor: new RecordingProcessor(), signal: new AbortController().signal }))).toBe("dead_letter:imap_auth_failed");
    await resolver.close();
  });

  it("a server restart mid-job fails the attempt as transient; the retry after the restart succeeds", async () => {
    await dovecot.deliver(USER, buildMail({ id: "restart@example.org" }));
    const { uidValidity, uids } = await inboxState();
    const resolver = createImapResolver({ timeoutMs: 3000 });
    const m = mailbox();
    const directory = new MemoryDirectory([m]);
    const processor = new RecordingProcessor();
    const context = () => ({ job: job(uidValidity, uids.at(-1)!), mailbox: m, directory, processor, signal: new AbortController().signal });
    await resolver.handle(context()); // a pooled connection now exists
    await dovecot.halt(); // the server goes away under the pooled connection
    expect(await failure(resolver.handle(context()))).toMatch(/^retry:imap_/);
    expect(processor.received).toHaveLength(1);
    await dovecot.resume();
    const after = await resolver.handle(context()); // the retry reconnects
    expect(after).toMatchObject({ outcome: "processed" });
    await resolver.close();
  });
});
