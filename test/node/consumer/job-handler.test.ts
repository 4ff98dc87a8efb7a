// The job handler routes each job to its provider's resolver with the mailbox typed as that
// provider's, lifecycle jobs to upkeep, and refuses a job whose mailbox is another's.
import { describe, expect, it } from "vitest";
import { createJobHandler } from "../../../consumer/runtime/job-handler.ts";
import type { Resolver, Resolvers } from "../../../consumer/resolvers/resolver.ts";
import type { MailboxRecord } from "../../../consumer/domain/mailbox.ts";
import type { Provider } from "../../../src/queue/job.ts";
import type { Claim } from "../../../src/queue/queue.ts";
import { PointerQueue } from "../../../src/queue/queue.ts";
import { imapJob } from "../../support/queues.ts";
import { MemoryDirectory } from "../../support/mailboxes.ts";
import { outcomeOf } from "../../support/outcome.ts";
import { RecordingProcessor } from "../../support/recording-processor.ts";

const mailboxes: MailboxRecord[] = [
  { providerId: "ms", tenantId: "t1", kind: "microsoft", address: "a@x", credentials: { type: "microsoft", azureTenantId: "e", clientId: "c", clientSecret: "s" }, cursors: {}, bulkMailOpensTickets: false },
  { providerId: "gm", tenantId: "t1", kind: "google", address: "b@x", credentials: { type: "google", clientId: "c", clientSecret: "s", refreshToken: "r" }, cursors: {}, bulkMailOpensTickets: false },
  { providerId: "im", tenantId: "t1", kind: "imap", address: "c@x", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" }, cursors: {}, bulkMailOpensTickets: false },
];

function recordingResolver<P extends Provider>(provider: P, seen: string[]): Resolver<P> {
  return {
    provider,
    async handle({ job, mailbox }) {
      seen.push(`${provider}:${job.jobId}:${mailbox.kind}:${mailbox.credentials.type}`);
      return { outcome: "processed", messages: [] };
    },
    async close() {},
  };
}

function setup() {
  const seen: string[] = [];
  const resolvers: Resolvers = { microsoft: recordingResolver("microsoft", seen), google: recordingResolver("google", seen), imap: recordingResolver("imap", seen) };
  const lifecycle: string[] = [];
  const handler = createJobHandler({
    directory: new MemoryDirectory(mailboxes),
    resolvers,
    processor: new RecordingProcessor(),
    lifecycle: { handle: async (job) => (lifecycle.push(job.pointer.lifecycleEvent), { outcome: "processed", messages: [] }) },
  });
  const claim = (job: Parameters<typeof PointerQueue.build>[0]): Claim => ({ jobId: job.jobId ?? "j", token: "t", delivery: 1, leaseUntil: 0, job: PointerQueue.build(job) });
  const run = (job: Parameters<typeof PointerQueue.build>[0]) => handler(claim(job), new AbortController().signal);
  return { run, seen, lifecycle };
}

describe("job handler", () => {
  it("gives each provider's job to that provider's resolver, with the mailbox of that provider", async () => {
    const { run, seen } = setup();
    await run({ jobId: "m1", provider: "microsoft", tenantId: "t1", providerId: "ms", pointer: { subscriptionId: "s", messageId: "id", resource: "r", changeType: "created" } });
    await run({ jobId: "g1", provider: "google", tenantId: "t1", providerId: "gm", pointer: { emailAddress: "b@x", historyId: "5", pubsubMessageId: "p" } });
    await run(imapJob(7, { jobId: "i1", providerId: "im", tenantId: "t1" }));
    expect(seen).toEqual(["microsoft:m1:microsoft:microsoft", "google:g1:google:google", "imap:i1:imap:imap"]);
  });

  it("a lifecycle job goes to upkeep, not to a resolver", async () => {
    const { run, seen, lifecycle } = setup();
    await run({ jobId: "l1", provider: "microsoft", kind: "lifecycle", tenantId: "t1", providerId: "ms", pointer: { subscriptionId: "s", lifecycleEvent: "missed" } });
    expect([seen, lifecycle]).toEqual([[], ["missed"]]);
  });

  it("a job naming another provider's mailbox, or another tenant, dead-letters as provider_mismatch; a removed mailbox is a skip", async () => {
    const { run, seen } = setup();
    expect(await outcomeOf(run(imapJob(1, { providerId: "gm", tenantId: "t1" })))).toBe("dead_letter:provider_mismatch");
    expect(await outcomeOf(run(imapJob(1, { providerId: "im", tenantId: "other" })))).toBe("dead_letter:provider_mismatch");
    expect(await run(imapJob(1, { providerId: "gone", tenantId: "t1" }))).toEqual({ outcome: "skipped", reason: "provider_not_found" });
    expect(seen).toEqual([]);
  });
});
