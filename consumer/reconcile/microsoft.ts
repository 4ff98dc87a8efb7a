// The Microsoft sweep: a Graph delta round on the Inbox from the mailbox's stored link. Cheap when
// nothing changed: one call, an empty page and the same round's delta link back.
//   - no link yet: a first round from when the mailbox was connected (so connecting a mailbox
//     does not import its history), else from a day back
//   - each page: pointers for the messages not processed yet, then the page's link is stored, so
//     a crash re-sees a page rather than skips one
//   - at most MAX_PAGES a sweep: a longer round goes on from its stored page link next time
//   - 410 Gone (the sync state expired): a fresh round from the last sweep, less a margin, and at
//     most a week back; logged, never silent
import { retryable } from "../domain/errors.ts";
import { mailboxOfKind, type MailboxOf, type MailboxRecord } from "../domain/mailbox.ts";
import { deltaPage, deltaStart } from "../provider-api/graph-delta.ts";
import type { ProviderContext } from "../providers/context.ts";
import { enqueueUnseen, type SweepReport } from "./sweep.ts";

const MAX_PAGES = 50;
const FIRST_ROUND_WINDOW_MS = 24 * 3600_000;
const RESTART_MARGIN_MS = 3600_000;
const RESTART_WINDOW_MAX_MS = 7 * 24 * 3600_000;

function firstRoundFrom(mailbox: MailboxOf<"microsoft">, now: number): Date {
  const since = Date.parse(mailbox.cursors.graphDeltaSince ?? "");
  return new Date(Number.isFinite(since) ? since : now - FIRST_ROUND_WINDOW_MS);
}

function restartFrom(mailbox: MailboxOf<"microsoft">, now: number): Date {
  const last = Date.parse(mailbox.cursors.lastSweep?.at ?? mailbox.cursors.graphDeltaSince ?? "");
  const from = Number.isFinite(last) ? last - RESTART_MARGIN_MS : now - FIRST_ROUND_WINDOW_MS;
  return new Date(Math.max(from, now - RESTART_WINDOW_MAX_MS));
}

export async function sweepMicrosoft(ctx: ProviderContext, record: MailboxRecord, now = Date.now()): Promise<SweepReport> {
  const mailbox = mailboxOfKind(record, "microsoft");
  if (!mailbox) throw new TypeError(`${record.providerId} is not a Microsoft mailbox`);
  const { providerId, tenantId, address } = mailbox;
  const subscriptionId = mailbox.cursors.graphSubscriptionId ?? "sweep";
  const report: SweepReport = { providerId, kind: "microsoft", listed: 0, enqueued: 0, found: 0 };
  let link = mailbox.cursors.graphDeltaLink ?? deltaStart(address, firstRoundFrom(mailbox, now));
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await deltaPage(ctx.apis.graph, mailbox.credentials, link);
    if (page === "gone") {
      if (report.restarted) throw retryable("microsoft_delta_gone", "Graph refused a fresh delta round (410)");
      report.restarted = true;
      const since = restartFrom(mailbox, now);
      ctx.log?.warn({ event: "inbound_email_reconcile_delta_restarted", providerId, since: since.toISOString() }, "the Graph delta link expired: a fresh round from the last sweep");
      link = deltaStart(address, since);
      continue;
    }
    report.listed += page.messages.length;
    const counts = await enqueueUnseen(ctx, providerId, page.messages, (messageId) => ({
      dedupeKey: `microsoft:${subscriptionId}:${messageId}`,
      job: { provider: "microsoft", tenantId, providerId, origin: "sweep", pointer: { subscriptionId, messageId, resource: `Users/${address}/Messages/${messageId}`, changeType: "created" } },
    }), now);
    report.enqueued += counts.enqueued;
    report.found += counts.found;
    await ctx.mailboxes.updateCursors(providerId, { graphDeltaLink: page.link });
    link = page.link;
    if (page.done) break;
  }
  return report;
}
