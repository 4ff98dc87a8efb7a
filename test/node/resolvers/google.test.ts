// Gmail resolver against the local Gmail fake: history over pages, SENT/DRAFT filtered, a 404'd
// message skipped, the cursor past what is done, and a resync when history has expired.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeGmail, type FakeGmail } from "../../../consumer/dev/fakes/gmail.ts";
import { createGoogleResolver } from "../../../consumer/resolvers/google.ts";
import { TokenCache } from "../../../consumer/resolvers/token-cache.ts";
import { InletError } from "../../../consumer/runtime/errors.ts";
import type { MailboxRecord } from "../../../consumer/runtime/handler.ts";
import type { Job } from "../../../src/queue/job.ts";
import { MemoryDirectory } from "../../support/mailboxes.ts";
import { buildMail } from "../../support/mail.ts";
import { RecordingProcessor } from "../../support/recording-processor.ts";

const CLIENT = { clientId: "gmail-client", clientSecret: "gmail-secret", refreshToken: "1//refresh-token" };
const USER = "support@acme-gmail.example";
let gmail: FakeGmail;
let directory: MemoryDirectory;
let processor: RecordingProcessor;
beforeEach(async () => {
  gmail = await startFakeGmail();
  gmail.addClient(CLIENT);
  gmail.pageSize = 2; // several history pages
  directory = new MemoryDirectory([{ providerId: "g-1", tenantId: "t1", kind: "google", address: USER, credentials: { type: "google", ...CLIENT }, cursors: { gmailHistoryId: gmail.historyId(USER) }, bulkMailOpensTickets: false }]);
  processor = new RecordingProcessor();
});
afterEach(async () => gmail.close());

async function run(historyId: string) {
  const r = createGoogleResolver({ gmailBaseUrl: gmail.gmailBaseUrl, tokenUrl: gmail.tokenUrl, tokens: new TokenCache(), timeoutMs: 2000 });
  const job: Job = { jobId: "j", schemaVersion: 1, provider: "google", tenantId: "t1", providerId: "g-1", enqueuedAt: 0, attempt: 0, pointer: { emailAddress: USER, historyId, pubsubMessageId: "p" } };
  const mailbox = (await directory.get("g-1")) as MailboxRecord;
  return r.handle({ job, mailbox, directory, processor, signal: new AbortController().signal });
}
const ids = () => processor.received.map((m) => m.providerMessageId);

describe("Gmail resolver", () => {
  it("a history of INBOX, SENT and DRAFT messages over 3 pages, one message 404s: the others are processed, the cursor ends past the last one done", async () => {
    const inbox: string[] = [];
    const mails = Array.from({ length: 5 }, (_, i) => buildMail({ id: `g${i}@example.org` }));
    inbox.push(gmail.addMessage(USER, mails[0]!).id);
    gmail.addMessage(USER, buildMail({ id: "sent@example.org" }), ["SENT"]);
    inbox.push(gmail.addMessage(USER, mails[1]!).id);
    gmail.addMessage(USER, buildMail({ id: "draft@example.org" }), ["DRAFT"]);
    const gone = gmail.addMessage(USER, mails[2]!).id;
    inbox.push(gmail.addMessage(USER, mails[3]!).id);
    const last = gmail.addMessage(USER, mails[4]!);
    inbox.push(last.id);
    gmail.deleteMessage(USER, gone); // listed in history, deleted before it is fetched: 404

    const outcome = await run(last.historyId);
    expect(outcome).toMatchObject({ outcome: "processed" });
    expect(ids()).toEqual(inbox);
    expect(Buffer.from(processor.received[0]!.raw).equals(Buffer.from(mails[0]!))).toBe(true);
    expect((await directory.get("g-1"))?.cursors.gmailHistoryId).toBe(last.historyId);
    expect(await run(last.historyId)).toEqual({ outcome: "processed", messages: [] }); // nothing new
  });

  it("a transient failure stops at that message: the cursor stays before it, and the retry goes on from there", async () => {
    const first = gmail.addMessage(USER, buildMail({ id: "a@example.org" }));
    const failing = gmail.addMessage(USER, buildMail({ id: "b@example.org" }));
    const third = gmail.addMessage(USER, buildMail({ id: "c@example.org" }));
    gmail.faults.set(`message:${failing.id}`, { status: 503, times: 1 });
    const error = await run(third.historyId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InletError);
    expect((error as InletError).disposition).toBe("retry");
    expect(ids()).toEqual([first.id]);
    expect((await directory.get("g-1"))?.cursors.gmailHistoryId).toBe(first.historyId);
    await run(third.historyId);
    expect(ids()).toEqual([first.id, failing.id, third.id]);
  });

  it("a history 404 (cursor too old) triggers a resync and no message is missed", async () => {
    const before = gmail.addMessage(USER, buildMail({ id: "old-unseen@example.org" }));
    gmail.expireHistory(USER);
    const after = gmail.addMessage(USER, buildMail({ id: "new@example.org" }));
    const outcome = await run(after.historyId);
    expect(outcome).toMatchObject({ outcome: "processed" });
    expect(ids().sort()).toEqual([before.id, after.id].sort());
    expect((await directory.get("g-1"))?.cursors.gmailHistoryId).toBe(after.historyId);
  });

  it("429 with Retry-After on history is transient and carries the delay; tokens are cached", async () => {
    const added = gmail.addMessage(USER, buildMail({ id: "x@example.org" }));
    gmail.faults.set("history", { status: 429, retryAfter: "3", times: 1 });
    const error = (await run(added.historyId).catch((e: unknown) => e)) as InletError;
    expect([error.disposition, error.retryAfterMs]).toEqual(["retry", 3000]);
  });
});
