// The job handler and a lost grant: the first job that meets the refusal marks the mailbox, every
// job of it then ends as the skip source_unavailable:auth without reaching the provider, message
// jobs are parked for when the mailbox is connected again, other failures keep their course.
import { describe, expect, it } from "vitest";
import { authorisationLost, permanent } from "../../../consumer/domain/errors.ts";
import type { MailboxRecord } from "../../../consumer/domain/mailbox.ts";
import { createJobHandler } from "../../../consumer/runtime/job-handler.ts";
import { settlementFor } from "../../../consumer/runtime/settle.ts";
import type { Resolver } from "../../../consumer/resolvers/resolver.ts";
import { PointerQueue, type Claim } from "../../../src/queue/queue.ts";
import { MemoryDirectory } from "../../support/mailboxes.ts";
import { outcomeOf } from "../../support/outcome.ts";
import { RecordingProcessor } from "../../support/recording-processor.ts";

const mailbox: MailboxRecord = { providerId: "im", tenantId: "t1", kind: "imap", address: "c@x", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" }, cursors: {}, bulkMailOpensTickets: false };

function setup(fail: () => Error | undefined) {
  const directory = new MemoryDirectory([mailbox]);
  let calls = 0;
  const imap: Resolver<"imap"> = {
    provider: "imap",
    async handle() {
      calls++;
      const error = fail();
      if (error) throw error;
      return { outcome: "processed", messages: [] };
    },
    async close() {},
  };
  const lifecycle: string[] = [];
  const handler = createJobHandler({ directory, resolvers: { imap }, processor: new RecordingProcessor(), lifecycle: { handle: async (job) => (lifecycle.push(job.jobId), { outcome: "processed", messages: [] }) } });
  const claim = (uid: number): Claim => ({ jobId: `j${uid}`, token: "t", delivery: 1, leaseUntil: 0, job: PointerQueue.build({ jobId: `j${uid}`, provider: "imap", tenantId: "t1", providerId: "im", pointer: { mailbox: "INBOX", uidValidity: "7", uid } }) });
  const run = async (uid: number) => {
    try {
      return settlementFor({ outcome: await handler(claim(uid), new AbortController().signal) });
    } catch (failure) {
      return settlementFor({ failure });
    }
  };
  return { directory, run, calls: () => calls, handler, lifecycle };
}

describe("a lost grant in the job handler", () => {
  it("the first refusal marks the mailbox and skips as source_unavailable:auth; later jobs skip without reaching the provider; all are parked", async () => {
    const { directory, run, calls } = setup(() => authorisationLost("imap_auth_failed", "the IMAP server refused the login"));
    expect(await run(1)).toEqual({ action: "ack", outcome: "skipped", reason: "source_unavailable:auth" });
    expect((await directory.get("im"))?.authorisation).toMatchObject({ status: "needs_reauthorisation", reason: "imap_auth_failed" });
    expect(await run(2)).toEqual({ action: "ack", outcome: "skipped", reason: "source_unavailable:auth" });
    expect(await run(3)).toEqual({ action: "ack", outcome: "skipped", reason: "source_unavailable:auth" });
    expect(calls()).toBe(1);
    expect(directory.parked.map((j) => j.jobId)).toEqual(["j1", "j2", "j3"]);
  });

  it("a lifecycle job of such a mailbox is skipped, not parked (connecting again makes a new subscription); other permanent errors still dead-letter", async () => {
    const { directory, handler, lifecycle } = setup(() => permanent("imap_bad_pointer", "no"));
    await directory.markNeedsReauthorisation("im", "microsoft_consent_revoked");
    const job = PointerQueue.build({ jobId: "lc", provider: "microsoft", kind: "lifecycle", tenantId: "t1", providerId: "im", pointer: { subscriptionId: "s", lifecycleEvent: "missed" } });
    expect(await handler({ jobId: "lc", token: "t", delivery: 1, leaseUntil: 0, job }, new AbortController().signal)).toEqual({ outcome: "skipped", reason: "source_unavailable:auth" });
    expect(lifecycle).toEqual([]);
    expect(directory.parked).toEqual([]);
    const fresh = setup(() => permanent("imap_bad_pointer", "no"));
    expect(await outcomeOf(fresh.handler({ jobId: "x", token: "t", delivery: 1, leaseUntil: 0, job: PointerQueue.build({ jobId: "x", provider: "imap", tenantId: "t1", providerId: "im", pointer: { mailbox: "INBOX", uidValidity: "7", uid: 9 } }) }, new AbortController().signal))).toBe("dead_letter:imap_bad_pointer");
    expect((await fresh.directory.get("im"))?.authorisation).toBeUndefined();
  });
});
