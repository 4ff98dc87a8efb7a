// Gmail. The pointer only says "this mailbox changed, up to historyId H"; the resolver works from
// the mailbox's stored cursor (`cursors.gmailHistoryId`), never from the pointer alone.
//
// Partial sync (the normal case):
//   1. H <= cursor: an older or duplicate push, already covered: processed with 0 messages.
//   2. history.list(startHistoryId=cursor, historyTypes=messageAdded, labelId=INBOX), every page,
//      before anything is processed. Message ids are deduplicated across records and pages;
//      messages labelled SENT or DRAFT, or not INBOX, are ignored.
//   3. Records are processed in order, each message on its own (messages.get?format=raw → processor):
//      a message that 404s was deleted meanwhile and is skipped; the others go on. A message whose
//      processing fails permanently is passed over as skipped (logged with its id), so that one
//      poison message cannot stall the mailbox; a transient failure stops the job (4).
//   4. The cursor only ever moves past work that is done:
//      - all done: to the listing's snapshot, the larger of the historyId the first page reported
//        (every record up to it is in the listing) and the last record listed;
//      - a transient failure at record R (provider or processing): to the last record completed
//        before R, then the job fails and retries from there. Records before R are not refetched,
//        R is redone whole (processing is idempotent, so a message of R already applied is a no-op);
//      - a crash: the cursor has not moved, the retry redoes the listing (idempotent again).
//   5. H newer than the snapshot (Gmail's history not yet showing the change we were told of): the
//      cursor moves to the snapshot and the job retries, rather than ack and lose that change; on
//      its third delivery it is skipped (`source_unavailable:gmail_history_ahead`): history that
//      late is a replayed or forged historyId, and the sweep would still catch real mail.
//   Every cursor move is confirmed to the edge, which drops pushes at or below it as stale.
//
// Full sync ("resync"), when history cannot be used: the cursor is older than Gmail keeps
// (history 404), the mailbox is flagged `needsResync`, or it has no cursor at all. Starting from the
// pointer's H instead would skip the very change that caused the push (history.list returns records
// *after* startHistoryId), and onboarding (users.watch) always stores a cursor, so a missing one is
// an anomaly where re-seeing mail is safer than a gap.
//   1. users.getProfile → the mailbox's historyId B, taken *before* listing.
//   2. messages.list(labelIds=INBOX), newest first, paged up to `resyncLimit` ids; each is processed
//      oldest first (processing is idempotent: mail already applied is a no-op).
//   3. The cursor moves to B: anything newer than B is picked up by the next history.list.
//   A listing cut short by the limit is logged (gmail_resync_truncated), never silent.
//
// Concurrent jobs for one mailbox may both list and process the same records (idempotent) and may
// move the cursor backwards (harmless: re-seeing); neither ever moves it past work it has not done.
// Every Gmail call goes through the Gmail client (tokens, rate limits, the error model).
import type { Logger } from "../runtime/log.ts";
import { InletError, retryable } from "../domain/errors.ts";
import type { JobOutcome } from "../domain/job.ts";
import type { ProcessOutcome } from "../domain/message.ts";
import type { GmailClient } from "../provider-api/gmail-client.ts";
import { currentHistoryId, fetchRawMessage, historySince, laterHistoryId, newerHistoryId, recentInboxIds, type GmailMailbox } from "../provider-api/gmail-messages.ts";
import { fetched } from "./fetched.ts";
import type { ResolveContext, Resolver } from "./resolver.ts";

export interface GoogleResolverOptions {
  gmail: GmailClient;
  /** Tells the edge how far the mailbox has been read (after each cursor move), so it drops
   * pushes at or below it as stale: the staleness filter rests on what was confirmed here, never
   * on what a push claimed. Best effort: when it fails, the edge only drops fewer pushes. */
  confirmCursor?: (emailAddress: string, historyId: string) => Promise<unknown>;
  /** Larger messages are not downloaded whole (processing records them as too large). */
  maxMessageBytes: number;
  /** How many recent INBOX messages a resync looks at (default 500). */
  resyncLimit?: number;
  log?: Logger;
}

/** Deliveries of a push that names history Gmail does not show yet before it is given up. */
const GMAIL_LAG_DELIVERIES = 3;

export function createGoogleResolver(options: GoogleResolverOptions): Resolver<"google"> {
  const resyncLimit = options.resyncLimit ?? 500;

  return {
    provider: "google",
    async handle({ job, mailbox, directory, processor, signal }: ResolveContext<"google">): Promise<JobOutcome> {
      const api: GmailMailbox = { gmail: options.gmail, credentials: mailbox.credentials, address: mailbox.address, signal };
      /** Store the cursor, then confirm it to the edge. */
      const moveCursor = async (historyId: string, extra: { needsResync?: false } = {}) => {
        await directory.updateCursors(mailbox.providerId, { gmailHistoryId: historyId, ...extra });
        await options.confirmCursor?.(mailbox.address, historyId).catch((error: unknown) => options.log?.warn({ event: "gmail_cursor_confirm_failed", providerId: mailbox.providerId, err: error }, "could not confirm the Gmail cursor to the edge"));
      };
      const pointerHistory = job.pointer.historyId;

      const processOne = async (id: string): Promise<ProcessOutcome | undefined> => {
        const message = await fetchRawMessage(api, id, options.maxMessageBytes);
        if (!message) return undefined;
        try {
          return await processor.process({ provider: "google", tenantId: job.tenantId, providerId: job.providerId, providerMessageId: message.id, ...fetched(message.body) }, signal);
        } catch (error) {
          // One message that can never be applied must not stall the mailbox's history behind it:
          // it is recorded as skipped (and logged with its id) and the others go on.
          if (!(error instanceof InletError) || error.disposition === "retry") throw error;
          options.log?.error({ event: "gmail_message_not_applied", providerId: mailbox.providerId, jobId: job.jobId, providerMessageId: message.id, code: error.code }, "a Gmail message could not be applied and was passed over");
          return { outcome: "skipped", reason: `${error.disposition}:${error.code}` };
        }
      };

      const resync = async (why: string): Promise<JobOutcome> => {
        const baseline = await currentHistoryId(api);
        const { ids, truncated } = await recentInboxIds(api, resyncLimit);
        if (truncated) options.log?.warn({ event: "gmail_resync_truncated", providerId: mailbox.providerId, jobId: job.jobId, reason: why, limit: resyncLimit }, "Gmail resync looked at the most recent messages only");
        const outcomes: ProcessOutcome[] = [];
        for (const id of [...ids].reverse()) {
          const outcome = await processOne(id);
          if (outcome) outcomes.push(outcome);
        }
        await moveCursor(baseline, { needsResync: false });
        options.log?.info({ event: "gmail_resync", providerId: mailbox.providerId, jobId: job.jobId, reason: why, listed: ids.length, processed: outcomes.length }, "Gmail mailbox resynchronised");
        return { outcome: "processed", messages: outcomes };
      };

      const cursor = mailbox.cursors.gmailHistoryId;
      if (!cursor) return resync("no_cursor");
      if (mailbox.cursors.needsResync) return resync("flagged");
      if (!newerHistoryId(pointerHistory, cursor)) return { outcome: "processed", messages: [] };

      const listing = await historySince(api, cursor);
      if (!listing) return resync("history_expired");

      const outcomes: ProcessOutcome[] = [];
      let done = cursor;
      const saveProgress = async () => {
        if (!newerHistoryId(done, cursor)) return;
        // Best effort: if this write fails too, the retry starts from the old cursor (re-seeing only).
        await moveCursor(done).catch(() => undefined);
      };
      for (const record of listing.records) {
        try {
          for (const id of record.messageIds) {
            const outcome = await processOne(id);
            if (outcome) outcomes.push(outcome);
          }
        } catch (error) {
          await saveProgress();
          throw error;
        }
        done = laterHistoryId(done, record.id);
      }
      done = laterHistoryId(done, listing.snapshot);
      await moveCursor(done);
      if (newerHistoryId(pointerHistory, done)) {
        // Gmail's history can lag its push by moments; a push that names history Gmail still does
        // not have on a third delivery never will (a replayed or forged historyId): skipped, not
        // retried into the dead-letter list.
        if (job.attempt >= GMAIL_LAG_DELIVERIES - 1) {
          options.log?.warn({ event: "gmail_history_ahead", providerId: mailbox.providerId, jobId: job.jobId, historyId: pointerHistory, reached: done }, "a Gmail push names history the mailbox does not have");
          return { outcome: "skipped", reason: "source_unavailable:gmail_history_ahead" };
        }
        throw retryable("gmail_history_behind", `Gmail history reaches ${done}, the notification names ${pointerHistory}: retrying until it catches up`);
      }
      return { outcome: "processed", messages: outcomes };
    },
    async close() {},
  };
}
