// Gmail resolver against the local Gmail + Google token fake (real wire format over real HTTP):
// history over pages, SENT/DRAFT filtered, a 404'd message skipped, the cursor only past what is
// done, resync when history has expired, throttling, timeouts and tokens.
import { DEFAULT_LIMITS } from "../../../consumer/config.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { gmailRateLimitBody, startFakeGmail, type FakeGmail } from "../../../dev/fakes/gmail.ts";
import { createGoogleResolver } from "../../../consumer/resolvers/google.ts";
import { TokenCache } from "../../../consumer/auth/token-cache.ts";
import { GmailClient } from "../../../consumer/provider-api/gmail-client.ts";
import { InletError, permanent } from "../../../consumer/domain/errors.ts";
import type { MailboxCursors, MailboxOf } from "../../../consumer/domain/mailbox.ts";
import type { MessageJob } from "../../../consumer/domain/job.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { outcomeOf } from "../../support/outcome.ts";
import { MemoryDirectory } from "../../support/mailboxes.ts";
import { buildMail } from "../../support/mail.ts";
import { RecordingProcessor } from "../../support/recording-processor.ts";

const CLIENT = { clientId: "gmail-client", clientSecret: "gmail-secret", refreshToken: "1//refresh-token" };
const USER = "support@acme-gmail.example";
let gmail: FakeGmail;
beforeEach(async () => {
  gmail = await startFakeGmail();
  gmail.addClient(CLIENT);
});
afterEach(async () => gmail.close());

function setup(options: { cursors?: MailboxCursors; timeoutMs?: number; credentials?: typeof CLIENT } = {}) {
  const record: MailboxOf<"google"> = { providerId: "g-1", tenantId: "t1", kind: "google", address: USER, credentials: { type: "google", ...(options.credentials ?? CLIENT) }, cursors: options.cursors ?? { gmailHistoryId: gmail.historyId(USER) }, bulkMailOpensTickets: false };
  const directory = new MemoryDirectory([record]);
  const processor = new RecordingProcessor();
  const tokens = new TokenCache();
  const logs = captureLogs();
  const resolver = createGoogleResolver({ gmail: new GmailClient({ gmailBaseUrl: gmail.gmailBaseUrl, tokenUrl: gmail.tokenUrl, tokens, timeoutMs: options.timeoutMs ?? 2000 }), maxMessageBytes: DEFAULT_LIMITS.maxMessageBytes, log: logs.log });
  const run = async (historyId: string, attempt = 0) => {
    const job: MessageJob<"google"> = { jobId: "j", schemaVersion: 1, provider: "google", tenantId: "t1", providerId: "g-1", enqueuedAt: 0, attempt, pointer: { emailAddress: USER, historyId, pubsubMessageId: "p" } };
    const mailbox = (await directory.get("g-1")) as MailboxOf<"google">;
    return resolver.handle({ job, mailbox, directory, processor, signal: new AbortController().signal });
  };
  const cursor = async () => (await directory.get("g-1"))?.cursors.gmailHistoryId;
  const ids = () => processor.received.map((m) => m.providerMessageId);
  return { run, directory, processor, tokens, logs, cursor, ids };
}


describe("Gmail resolver", () => {
  it("a history of INBOX, SENT and DRAFT messages over 3 pages, one message 404s: the others are processed byte for byte, the cursor ends past the last one done", async () => {
    const { run, processor, cursor, ids } = setup();
    gmail.pageSize = 3; // 7 history records → 3 pages
    const mails = Array.from({ length: 5 }, (_, i) => buildMail({ id: `g${i}@example.org`, body: `body ${i}\r\n.\r\nü` }));
    const inbox: string[] = [];
    inbox.push(gmail.addMessage(USER, mails[0]!).id);
    gmail.addMessage(USER, buildMail({ id: "sent@example.org" }), ["SENT"]);
    inbox.push(gmail.addMessage(USER, mails[1]!).id);
    gmail.addMessage(USER, buildMail({ id: "draft@example.org" }), ["DRAFT"]);
    const gone = gmail.addMessage(USER, mails[2]!).id;
    inbox.push(gmail.addMessage(USER, mails[3]!).id);
    const last = gmail.addMessage(USER, mails[4]!);
    inbox.push(last.id);
    gmail.deleteMessage(USER, gone); // listed in history, deleted before it is fetched: 404

    expect(await run(last.historyId)).toMatchObject({ outcome: "processed", messages: [{}, {}, {}, {}] });
    expect(ids()).toEqual(inbox);
    const expected = [mails[0], mails[1], mails[3], mails[4]];
    processor.received.forEach((m, i) => expect(Buffer.from(m.raw).equals(Buffer.from(expected[i]!))).toBe(true));
    expect(processor.received.every((m) => m.provider === "google" && m.tenantId === "t1" && m.providerId === "g-1")).toBe(true);
    expect(await cursor()).toBe(last.historyId);
    expect(await run(last.historyId)).toEqual({ outcome: "processed", messages: [] }); // a duplicate push: nothing new
  });

  it("several messages in one history record, one record per page: each processed once, in order", async () => {
    const { run, ids } = setup();
    gmail.pageSize = 1;
    const batch = gmail.addMessages(USER, [{ raw: buildMail({ id: "b1@example.org" }) }, { raw: buildMail({ id: "b2@example.org" }) }]);
    const again = gmail.addMessage(USER, buildMail({ id: "b3@example.org" }));
    expect(await run(again.historyId)).toMatchObject({ outcome: "processed" });
    expect(ids()).toEqual([...batch.ids, again.id]);
  });

  it("a transient failure stops at that message: the cursor stays before it, and the retry goes on from there", async () => {
    const { run, cursor, ids } = setup();
    gmail.pageSize = 2;
    const first = gmail.addMessage(USER, buildMail({ id: "a@example.org" }));
    const failing = gmail.addMessage(USER, buildMail({ id: "b@example.org" }));
    const third = gmail.addMessage(USER, buildMail({ id: "c@example.org" }));
    gmail.faults.set(`message:${failing.id}`, { status: 503, times: 1 });
    expect(await outcomeOf(run(third.historyId))).toBe("retry:gmail_message_http_503");
    expect(ids()).toEqual([first.id]);
    expect(await cursor()).toBe(first.historyId);
    expect(await run(third.historyId)).toMatchObject({ outcome: "processed" });
    expect(ids()).toEqual([first.id, failing.id, third.id]); // the first is not fetched again
    expect(await cursor()).toBe(third.historyId);
  });

  it("a transient processing failure keeps the cursor before that message too", async () => {
    const { run, processor, cursor, ids } = setup();
    const first = gmail.addMessage(USER, buildMail({ id: "p1@example.org" }));
    const second = gmail.addMessage(USER, buildMail({ id: "p2@example.org" }));
    processor.failOn = (m) => (m.providerMessageId === second.id ? new InletError("database_unavailable", "db down", { disposition: "retry" }) : undefined);
    expect(await outcomeOf(run(second.historyId))).toBe("retry:database_unavailable");
    expect(await cursor()).toBe(first.historyId);
    processor.failOn = undefined;
    await run(second.historyId);
    expect(ids()).toEqual([first.id, second.id]);
  });

  it("one message that can never be applied is passed over (logged with its id); it does not stall the mailbox", async () => {
    const { run, processor, cursor, ids, logs } = setup();
    const poison = gmail.addMessage(USER, buildMail({ id: "poison@example.org" }));
    const next = gmail.addMessage(USER, buildMail({ id: "fine@example.org" }));
    processor.failOn = (m) => (m.providerMessageId === poison.id ? permanent("message_too_large", "over the limit") : undefined);
    expect(await run(next.historyId)).toMatchObject({ outcome: "processed", messages: [{ outcome: "skipped", reason: "dead_letter:message_too_large" }, { outcome: "processed" }] });
    expect(ids()).toEqual([next.id]);
    expect(await cursor()).toBe(next.historyId);
    expect(logs.events("gmail_message_not_applied")).toMatchObject([{ providerMessageId: poison.id, code: "message_too_large" }]);
  });

  it("a history 404 (cursor too old) triggers a resync: no message is missed, the cursor moves to the mailbox's historyId", async () => {
    const { run, cursor, ids, logs } = setup();
    const before = gmail.addMessage(USER, buildMail({ id: "old-unseen@example.org" }));
    gmail.addMessage(USER, buildMail({ id: "sent-old@example.org" }), ["SENT"]);
    gmail.expireHistory(USER);
    const after = gmail.addMessage(USER, buildMail({ id: "new@example.org" }));
    expect(await run(after.historyId)).toMatchObject({ outcome: "processed" });
    expect(ids()).toEqual([before.id, after.id]); // oldest first, SENT left out
    expect(await cursor()).toBe(gmail.historyId(USER));
    expect(logs.events("gmail_resync")).toMatchObject([{ reason: "history_expired", listed: 2 }]);
    const later = gmail.addMessage(USER, buildMail({ id: "later@example.org" }));
    await run(later.historyId); // back to partial sync from the new cursor
    expect(ids()).toEqual([before.id, after.id, later.id]);
  });

  it("a resync cut short by its bound says so in the log", async () => {
    const { logs } = setup({ cursors: {} });
    for (let i = 0; i < 4; i++) gmail.addMessage(USER, buildMail({ id: `many-${i}@example.org` }));
    const resolver = createGoogleResolver({ gmail: new GmailClient({ gmailBaseUrl: gmail.gmailBaseUrl, tokenUrl: gmail.tokenUrl, tokens: new TokenCache(), timeoutMs: 2000 }), maxMessageBytes: DEFAULT_LIMITS.maxMessageBytes, resyncLimit: 2, log: logs.log });
    const directory = new MemoryDirectory([{ providerId: "g-2", tenantId: "t1", kind: "google", address: USER, credentials: { type: "google", ...CLIENT }, cursors: {}, bulkMailOpensTickets: false }]);
    const processor = new RecordingProcessor();
    const job: MessageJob<"google"> = { jobId: "j2", schemaVersion: 1, provider: "google", tenantId: "t1", providerId: "g-2", enqueuedAt: 0, attempt: 0, pointer: { emailAddress: USER, historyId: gmail.historyId(USER), pubsubMessageId: "p" } };
    await resolver.handle({ job, mailbox: (await directory.get("g-2")) as MailboxOf<"google">, directory, processor, signal: new AbortController().signal });
    expect(processor.received).toHaveLength(2);
    expect(logs.events("gmail_resync_truncated")).toMatchObject([{ providerId: "g-2", limit: 2 }]);
  });

  it("no cursor yet, or a mailbox flagged for resync: a resync, and the flag is cleared", async () => {
    const first = gmail.addMessage(USER, buildMail({ id: "nc@example.org" }));
    const a = setup({ cursors: {} });
    await a.run(first.historyId);
    expect(a.ids()).toEqual([first.id]);
    expect(await a.cursor()).toBe(first.historyId);
    const b = setup({ cursors: { gmailHistoryId: first.historyId, needsResync: true } });
    await b.run(first.historyId);
    expect(b.ids()).toEqual([first.id]); // seen again: processing is idempotent
    expect((await b.directory.get("g-1"))?.cursors.needsResync).toBe(false);
  });

  it("a push older than the cursor is already covered: processed with 0 messages, cursor unchanged", async () => {
    const old = gmail.addMessage(USER, buildMail({ id: "o@example.org" }));
    gmail.addMessage(USER, buildMail({ id: "o2@example.org" }));
    const { run, cursor, ids } = setup();
    const now = gmail.historyId(USER);
    expect(await run(old.historyId)).toEqual({ outcome: "processed", messages: [] });
    expect(ids()).toEqual([]);
    expect(await cursor()).toBe(now);
  });

  it("a push naming a change history does not show yet: what is there is done, the cursor moves, and the job retries", async () => {
    const { run, cursor, ids } = setup();
    const seen = gmail.addMessage(USER, buildMail({ id: "lag@example.org" }));
    const ahead = String(BigInt(gmail.historyId(USER)) + 1000n);
    expect(await outcomeOf(run(ahead))).toBe("retry:gmail_history_behind");
    expect(await outcomeOf(run(ahead, 1))).toBe("retry:gmail_history_behind");
    // Still ahead on its third delivery: a replayed or forged historyId, skipped rather than dead-lettered.
    expect(await run(ahead, 2)).toEqual({ outcome: "skipped", reason: "source_unavailable:gmail_history_ahead" });
    expect(ids()).toEqual([seen.id]);
    expect(await cursor()).toBe(gmail.historyId(USER));
  });

  it("429 with Retry-After, 403 rate limits, 5xx and stalled answers are transient", async () => {
    const { run } = setup({ timeoutMs: 300 });
    const added = gmail.addMessage(USER, buildMail({ id: "x@example.org" }));
    gmail.faults.set("history", { status: 429, retryAfter: "3", times: 1 });
    expect(await outcomeOf(run(added.historyId))).toBe("retry:gmail_history_http_429:3000");
    gmail.faults.set("history", { status: 403, body: gmailRateLimitBody, times: 1 });
    expect(await outcomeOf(run(added.historyId))).toBe("retry:gmail_history_rate_limited");
    gmail.faults.set("history", { status: 500, times: 1 });
    expect(await outcomeOf(run(added.historyId))).toBe("retry:gmail_history_http_500");
    gmail.faults.set("history", { delayMs: 1000, times: 1 });
    expect(await outcomeOf(run(added.historyId))).toBe("retry:gmail_history_timeout");
    gmail.faults.set(`message:${added.id}`, { stallBodyMs: 1000, times: 1 });
    expect(await outcomeOf(run(added.historyId))).toBe("retry:gmail_message_timeout");
    expect(await run(added.historyId)).toMatchObject({ outcome: "processed", messages: [{ outcome: "processed" }] });
  });

  it("the access token is cached across jobs; a revoked one is replaced once; a 403 with a fresh token and a refused refresh token are permanent", async () => {
    const { run, tokens } = setup();
    for (let i = 0; i < 3; i++) await run(gmail.addMessage(USER, buildMail({ id: `tok-${i}@example.org` })).historyId);
    expect([tokens.requests, gmail.tokenRequests()]).toEqual([1, 1]);
    gmail.revokeTokens();
    expect(await run(gmail.addMessage(USER, buildMail({ id: "tok-after@example.org" })).historyId)).toMatchObject({ outcome: "processed" });
    expect(gmail.tokenRequests()).toBe(2);
    const denied = gmail.addMessage(USER, buildMail({ id: "denied@example.org" }));
    gmail.faults.set("history", { status: 403, body: { error: { code: 403, message: "Mail service not enabled", errors: [{ domain: "global", reason: "failedPrecondition" }], status: "PERMISSION_DENIED" } }, times: 2 });
    expect(await outcomeOf(run(denied.historyId))).toBe("dead_letter:google_access_denied");
    expect(gmail.tokenRequests()).toBe(3); // one fresh token was tried first
    const revoked = setup({ credentials: { ...CLIENT, refreshToken: "1//revoked" } });
    expect(await outcomeOf(revoked.run(gmail.addMessage(USER, buildMail({ id: "r@example.org" })).historyId))).toBe("dead_letter:google_auth_revoked");
  });
});
