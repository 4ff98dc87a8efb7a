// IMAP resolver against a real Dovecot (private instance on a loopback port): exact bytes,
// UIDVALIDITY change (also under a pooled connection), missing UID, wrong password, a server that
// hangs (timeout) and a server killed in the middle of a job.
import { DEFAULT_LIMITS } from "../../../consumer/config.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImapResolver } from "../../../consumer/resolvers/imap.ts";
import type { MailboxOf } from "../../../consumer/domain/mailbox.ts";
import type { Resolver } from "../../../consumer/resolvers/resolver.ts";
import type { MessageJob } from "../../../consumer/domain/job.ts";
import { append, freeze, startDovecot, thaw, type Dovecot } from "../../support/dovecot.ts";
import { outcomeOf } from "../../support/outcome.ts";
import { MemoryDirectory } from "../../support/mailboxes.ts";
import { buildMail } from "../../support/mail.ts";
import { RecordingProcessor } from "../../support/recording-processor.ts";

const LOGIN = { user: "imap-resolver@example.com", password: "imap-resolver-secret" };
const OTHER = { user: "imap-other@example.com", password: "other-secret" };
let dovecot: Dovecot;
beforeAll(async () => {
  dovecot = await startDovecot([LOGIN, OTHER]);
});
afterAll(async () => dovecot?.stop());

const mailboxFor = (login: { user: string; password: string }, password = login.password): MailboxOf<"imap"> => ({
  providerId: `imap-${login.user}`,
  tenantId: "t1",
  kind: "imap",
  address: login.user,
  credentials: { type: "imap", host: dovecot.host, port: dovecot.port, secure: false, user: login.user, password },
  cursors: {},
  bulkMailOpensTickets: false,
});
const jobFor = (mailbox: MailboxOf<"imap">, uidValidity: string, uid: number, folder = "INBOX"): MessageJob<"imap"> => ({ jobId: "j", schemaVersion: 1, provider: "imap", tenantId: "t1", providerId: mailbox.providerId, enqueuedAt: 0, attempt: 0, pointer: { mailbox: folder, uidValidity, uid } });

function setup(mailbox: MailboxOf<"imap">, timeoutMs = 5000): { resolver: Resolver<"imap">; directory: MemoryDirectory; processor: RecordingProcessor; run: (j: MessageJob<"imap">) => ReturnType<Resolver<"imap">["handle"]> } {
  const resolver = createImapResolver({ timeoutMs, maxMessageBytes: DEFAULT_LIMITS.maxMessageBytes });
  const directory = new MemoryDirectory([mailbox]);
  const processor = new RecordingProcessor();
  return { resolver, directory, processor, run: (job) => resolver.handle({ job, mailbox, directory, processor, signal: new AbortController().signal }) };
}


describe("IMAP resolver against Dovecot", () => {
  it("fetches the exact source by UID and hands it to processing as `uidValidity:uid`", async () => {
    const m = mailboxFor(LOGIN);
    const { resolver, processor, run } = setup(m);
    const raw = buildMail({ id: "imap-exact@example.org", body: "line one\r\n\r\n..dot-stuffed?\r\n.\r\nend ü\r\n" });
    const { uid, uidValidity } = await append(dovecot, LOGIN, raw);
    expect(await run(jobFor(m, uidValidity, uid))).toEqual({ outcome: "processed", messages: [{ outcome: "processed", effect: "ticket", ticketId: "1" }] });
    expect(processor.received[0]).toMatchObject({ provider: "imap", tenantId: "t1", providerId: m.providerId, providerMessageId: `${uidValidity}:${uid}` });
    expect(Buffer.from(processor.received[0]!.raw).equals(Buffer.from(raw))).toBe(true);
    // a message delivered by the LDA, not over IMAP, on the same pooled connection
    const delivered = buildMail({ id: "imap-lda@example.org" });
    await dovecot.deliver(LOGIN.user, delivered);
    expect(await run(jobFor(m, uidValidity, uid + 1))).toMatchObject({ outcome: "processed" });
    expect(Buffer.from(processor.received[1]!.raw).equals(Buffer.from(delivered))).toBe(true);
    await resolver.close();
  });

  it("a missing UID skips; a UIDVALIDITY that changed (even under a pooled, selected connection) skips and flags the mailbox for resync", async () => {
    const m = mailboxFor(LOGIN);
    const { resolver, directory, run } = setup(m);
    const { uid, uidValidity } = await append(dovecot, LOGIN, buildMail({ id: "uv@example.org" }));
    expect(await outcomeOf(run(jobFor(m, uidValidity, 999_999)))).toBe("skip:source_unavailable:imap_message_not_found");
    expect(await run(jobFor(m, uidValidity, uid))).toMatchObject({ outcome: "processed" }); // INBOX is now selected on the pooled connection
    await dovecot.setUidValidity(LOGIN.user, Number(uidValidity) + 17);
    expect(await outcomeOf(run(jobFor(m, uidValidity, uid)))).toBe("skip:source_unavailable:imap_uidvalidity_changed");
    expect((await directory.get(m.providerId))?.cursors.needsResync).toBe(true);
    await resolver.close();
  });

  it("a wrong password is permanent (imap_auth_failed)", async () => {
    const m = mailboxFor(OTHER, "wrong-password");
    const { resolver, run } = setup(m);
    expect(await outcomeOf(run(jobFor(m, "1", 1)))).toBe("dead_letter:imap_auth_failed");
    await resolver.close();
  });

  it("a server that stops answering mid-job: the step times out (retry), and the next job gets a fresh connection", async () => {
    const m = mailboxFor(OTHER);
    const { resolver, processor, run } = setup(m, 700);
    const { uid, uidValidity } = await append(dovecot, OTHER, buildMail({ id: "hang@example.org" }));
    await run(jobFor(m, uidValidity, uid)); // a pooled connection now exists
    freeze(dovecot);
    try {
      expect(await outcomeOf(run(jobFor(m, uidValidity, uid)))).toMatch(/^retry:imap_(select|fetch)_timeout$/);
    } finally {
      thaw(dovecot);
    }
    expect(await run(jobFor(m, uidValidity, uid))).toMatchObject({ outcome: "processed" });
    expect(processor.received).toHaveLength(2);
    await resolver.close();
  });

  it("a server killed in the middle of a job fails that attempt as transient; the retry after the restart succeeds", async () => {
    const m = mailboxFor(LOGIN);
    const { resolver, processor, run } = setup(m, 10_000);
    const raw = buildMail({ id: "restart@example.org" });
    const { uid, uidValidity } = await append(dovecot, LOGIN, raw);
    await run(jobFor(m, uidValidity, uid)); // a pooled connection now exists
    freeze(dovecot);
    const started = Date.now();
    const inFlight = outcomeOf(run(jobFor(m, uidValidity, uid))); // sent its command, waits for an answer
    await new Promise((r) => setTimeout(r, 300));
    await dovecot.halt(); // SIGKILL to every Dovecot process: the connection drops under the job
    expect(await inFlight).toMatch(/^retry:imap_/);
    expect(Date.now() - started).toBeLessThan(5000); // ended by the dropped connection, not a timeout
    expect(processor.received).toHaveLength(1);
    expect(await outcomeOf(run(jobFor(m, uidValidity, uid)))).toMatch(/^retry:imap_connect_failed$/); // still down
    await dovecot.resume();
    expect(await run(jobFor(m, uidValidity, uid))).toMatchObject({ outcome: "processed" });
    expect(Buffer.from(processor.received[1]!.raw).equals(Buffer.from(raw))).toBe(true);
    await resolver.close();
  });

  it("a graceful server restart between jobs: the pool notices the closed connection and reconnects", async () => {
    const m = mailboxFor(OTHER);
    const { resolver, run } = setup(m);
    const { uid, uidValidity } = await append(dovecot, OTHER, buildMail({ id: "graceful@example.org" }));
    await run(jobFor(m, uidValidity, uid));
    await dovecot.restart();
    expect(await run(jobFor(m, uidValidity, uid))).toMatchObject({ outcome: "processed" });
    await resolver.close();
  });
});
