// The Gmail sweep: history.list from the mailbox's cursor, the call a push would have led to.
// Cheap when nothing changed: one call. When history shows new INBOX mail (or has expired), a
// job is enqueued that the Gmail resolver handles like a push's: it lists, processes, and moves
// the cursor only past work done.
// What counts as found: listed messages not processed yet. Mail whose push job is still waiting in
// the queue when the sweep looks counts too: a backlog makes this signal noisy for Gmail.
import { mailboxOfKind, type MailboxRecord } from "../domain/mailbox.ts";
import { historySince } from "../provider-api/gmail-messages.ts";
import type { ProviderContext } from "../providers/context.ts";
import type { SweepReport } from "./sweep.ts";

export async function sweepGmail(ctx: ProviderContext, record: MailboxRecord): Promise<SweepReport> {
  const mailbox = mailboxOfKind(record, "google");
  if (!mailbox) throw new TypeError(`${record.providerId} is not a Gmail mailbox`);
  const { providerId, tenantId, address } = mailbox;
  const report: SweepReport = { providerId, kind: "google", listed: 0, enqueued: 0, found: 0 };
  const cursor = mailbox.cursors.gmailHistoryId;
  const enqueue = async (historyId: string) =>
    (
      await ctx.queue.enqueue([
        {
          dedupeKey: `google:sweep:${providerId}:${historyId}`,
          job: { provider: "google", tenantId, providerId, origin: "sweep", pointer: { emailAddress: address, historyId, pubsubMessageId: `sweep-${historyId}` } },
        },
      ])
    ).enqueued;

  // No cursor, or one Gmail no longer keeps history for: the resolver resynchronises.
  const listing = cursor && !mailbox.cursors.needsResync ? await historySince({ gmail: ctx.apis.gmail, credentials: mailbox.credentials, address }, cursor) : undefined;
  if (!listing) {
    report.enqueued = await enqueue(cursor ? String(BigInt(cursor) + 1n) : "1");
    return report;
  }
  const ids = listing.records.flatMap((r) => r.messageIds);
  report.listed = ids.length;
  if (ids.length === 0) return report;
  const processed = await ctx.mailboxes.processedMessageIds(providerId, ids);
  const unseen = ids.filter((id) => !processed.has(id));
  if (unseen.length === 0) return report;
  report.enqueued = await enqueue(listing.snapshot);
  report.found = report.enqueued > 0 ? unseen.length : 0;
  return report;
}
