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
//      cursor moves to the snapshot and the job retries, rather than ack and lose that change.
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
import { z } from "zod";
import type { Logger } from "../runtime/log.ts";
import { InletError, permanent, retryable } from "../runtime/errors.ts";
import type { GoogleCredentials, ProcessOutcome } from "../runtime/handler.ts";
import type { JobOutcome, ResolveContext, Resolver } from "../runtime/resolver.ts";
import { discard, errorText, failure, readJson, request, retryAfterMs, type HttpResponse } from "./http.ts";
import { credentialKey, type TokenCache } from "./token-cache.ts";

export interface GoogleResolverOptions {
  gmailBaseUrl: string;
  tokenUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
  /** How many recent INBOX messages a resync looks at (default 500). */
  resyncLimit?: number;
  log?: Logger;
}

const historyId = z.string().regex(/^\d{1,20}$/);
const historySchema = z.object({
  history: z
    .array(
      z.object({
        id: historyId,
        messagesAdded: z.array(z.object({ message: z.object({ id: z.string().min(1), threadId: z.string().optional(), labelIds: z.array(z.string()).optional() }) })).optional(),
      }),
    )
    .optional(),
  nextPageToken: z.string().optional(),
  historyId,
});
const messageSchema = z.object({ id: z.string().min(1), threadId: z.string().optional(), labelIds: z.array(z.string()).optional(), raw: z.string(), historyId: historyId.optional() });
const listSchema = z.object({ messages: z.array(z.object({ id: z.string().min(1) })).optional(), nextPageToken: z.string().optional() });
const profileSchema = z.object({ emailAddress: z.string().optional(), historyId });

/** Labels that keep a message out of the helpdesk. Unknown labels (absent) are decided on fetch. */
const ignored = (labels: string[] | undefined) => !!labels && (labels.includes("SENT") || labels.includes("DRAFT") || !labels.includes("INBOX"));
/** History ids are decimal strings that may exceed 2^53: compare them as such. */
const newer = (a: string, b: string) => (a.length !== b.length ? a.length > b.length : a > b);
const max = (a: string, b: string) => (newer(a, b) ? a : b);

/** Gmail answers per-user and per-project rate limits with 403 as well as 429. */
const rateLimited = (body: string) => /rateLimitExceeded|userRateLimitExceeded|quotaExceeded|dailyLimitExceeded|"usageLimits"/.test(body);

const tokenKey = (c: GoogleCredentials) => credentialKey("google", c.clientId, c.clientSecret, c.refreshToken);

export function googleToken(options: GoogleResolverOptions, credentials: GoogleCredentials, signal?: AbortSignal): Promise<string> {
  return options.tokens.get(
    tokenKey(credentials),
    options.tokenUrl,
    { grant_type: "refresh_token", refresh_token: credentials.refreshToken, client_id: credentials.clientId, client_secret: credentials.clientSecret },
    { timeoutMs: options.timeoutMs, ...(signal ? { signal } : {}) },
    "google",
  );
}

interface HistoryRecord {
  id: string;
  messageIds: string[];
}

export function createGoogleResolver(options: GoogleResolverOptions): Resolver {
  const base = options.gmailBaseUrl.replace(/\/$/, "");
  const resyncLimit = options.resyncLimit ?? 500;

  return {
    provider: "google",
    async handle({ job, mailbox, directory, processor, signal }: ResolveContext): Promise<JobOutcome> {
      if (job.provider !== "google") throw permanent("malformed_pointer", `not a Gmail job (${job.provider})`);
      if (mailbox.credentials.type !== "google") throw permanent("provider_mismatch", "mailbox has no Google credentials");
      const credentials = mailbox.credentials;
      const user = encodeURIComponent(mailbox.address);
      const pointerHistory = job.pointer.historyId;

      /** A 401/403: a rate limit (Gmail uses 403 for those too) is transient; otherwise, after a
       * fresh token (`final`), the refusal is permanent. Returns only when a fresh token may help. */
      const refused = async (call: HttpResponse, what: string, final: boolean): Promise<void> => {
        const body = await errorText(call);
        if (call.status === 403 && rateLimited(body)) {
          const after = retryAfterMs(call.response.headers.get("retry-after"));
          throw retryable(`${what}_rate_limited`, `${what}: Gmail rate limit (403) ${body.slice(0, 200)}`, after === undefined ? {} : { retryAfterMs: after });
        }
        if (!final) return;
        throw call.status === 401 ? permanent("google_auth_revoked", "Gmail refused a freshly issued token (401)") : permanent("google_access_denied", `Gmail refused access with a fresh token (403) ${body.slice(0, 200)}`);
      };

      /** GET a Gmail resource. Returns 2xx and 404 to the caller; other statuses become errors. */
      const get = async (path: string, what: string): Promise<HttpResponse> => {
        const once = async () => request(`${base}/gmail/v1/users/${user}${path}`, { headers: { authorization: `Bearer ${await googleToken(options, credentials, signal)}`, accept: "application/json" } }, { timeoutMs: options.timeoutMs, signal }, what);
        let call = await once();
        if (call.status === 401 || call.status === 403) {
          await refused(call, what, false);
          options.tokens.invalidate(tokenKey(credentials)); // it may have been revoked before it expired
          call = await once();
          if (call.status === 401 || call.status === 403) await refused(call, what, true);
        }
        if (call.status === 404 || (call.status >= 200 && call.status <= 299)) return call;
        throw await failure(call);
      };

      const processOne = async (id: string): Promise<ProcessOutcome | undefined> => {
        const call = await get(`/messages/${encodeURIComponent(id)}?format=raw`, "gmail_message");
        if (call.status === 404) {
          await discard(call);
          return undefined; // deleted since it was added
        }
        const message = await readJson(call, messageSchema);
        if (ignored(message.labelIds)) return undefined;
        const raw = new Uint8Array(Buffer.from(message.raw, "base64url"));
        try {
          return await processor.process({ provider: "google", tenantId: job.tenantId, providerId: job.providerId, providerMessageId: message.id, raw }, signal);
        } catch (error) {
          // One message that can never be applied must not stall the mailbox's history behind it:
          // it is recorded as skipped (and logged with its id) and the others go on.
          if (!(error instanceof InletError) || error.disposition === "retry") throw error;
          options.log?.error({ event: "gmail_message_not_applied", providerId: mailbox.providerId, jobId: job.jobId, providerMessageId: message.id, code: error.code }, "a Gmail message could not be applied and was passed over");
          return { outcome: "skipped", reason: `${error.disposition}:${error.code}` };
        }
      };

      const resync = async (why: string): Promise<JobOutcome> => {
        const profileCall = await get("/profile", "gmail_profile");
        if (profileCall.status === 404) throw permanent("google_mailbox_not_found", "Gmail has no such mailbox");
        const baseline = (await readJson(profileCall, profileSchema)).historyId;
        const ids: string[] = [];
        let pageToken: string | undefined;
        do {
          const query = new URLSearchParams({ labelIds: "INBOX", maxResults: String(Math.min(100, resyncLimit - ids.length)), ...(pageToken ? { pageToken } : {}) });
          const call = await get(`/messages?${query}`, "gmail_list");
          if (call.status === 404) throw permanent("google_mailbox_not_found", "Gmail has no such mailbox");
          const page = await readJson(call, listSchema);
          for (const m of page.messages ?? []) if (!ids.includes(m.id)) ids.push(m.id);
          pageToken = page.nextPageToken;
        } while (pageToken && ids.length < resyncLimit);
        if (pageToken) options.log?.warn({ event: "gmail_resync_truncated", providerId: mailbox.providerId, jobId: job.jobId, reason: why, limit: resyncLimit }, "Gmail resync looked at the most recent messages only");
        const outcomes: ProcessOutcome[] = [];
        for (const id of ids.slice(0, resyncLimit).reverse()) {
          const outcome = await processOne(id);
          if (outcome) outcomes.push(outcome);
        }
        await directory.updateCursors(mailbox.providerId, { gmailHistoryId: baseline, needsResync: false });
        options.log?.info({ event: "gmail_resync", providerId: mailbox.providerId, jobId: job.jobId, reason: why, listed: ids.length, processed: outcomes.length }, "Gmail mailbox resynchronised");
        return { outcome: "processed", messages: outcomes };
      };

      /** Every page of added INBOX messages after `cursor`, or undefined when history has expired. */
      const listHistory = async (cursor: string): Promise<{ records: HistoryRecord[]; snapshot: string } | undefined> => {
        const records: HistoryRecord[] = [];
        const seen = new Set<string>();
        let snapshot: string | undefined;
        let pageToken: string | undefined;
        do {
          const query = new URLSearchParams({ startHistoryId: cursor, historyTypes: "messageAdded", labelId: "INBOX", maxResults: "500", ...(pageToken ? { pageToken } : {}) });
          const call = await get(`/history?${query}`, "gmail_history");
          if (call.status === 404) {
            await discard(call);
            return undefined;
          }
          const page = await readJson(call, historySchema);
          snapshot ??= page.historyId;
          for (const record of page.history ?? []) {
            const messageIds: string[] = [];
            for (const { message } of record.messagesAdded ?? []) {
              if (ignored(message.labelIds) || seen.has(message.id)) continue;
              seen.add(message.id);
              messageIds.push(message.id);
            }
            records.push({ id: record.id, messageIds });
          }
          pageToken = page.nextPageToken;
        } while (pageToken);
        const last = records.at(-1)?.id;
        return { records, snapshot: last ? max(snapshot ?? cursor, last) : (snapshot ?? cursor) };
      };

      const cursor = mailbox.cursors.gmailHistoryId;
      if (!cursor) return resync("no_cursor");
      if (mailbox.cursors.needsResync) return resync("flagged");
      if (!newer(pointerHistory, cursor)) return { outcome: "processed", messages: [] };

      const listing = await listHistory(cursor);
      if (!listing) return resync("history_expired");

      const outcomes: ProcessOutcome[] = [];
      let done = cursor;
      const saveProgress = async () => {
        if (!newer(done, cursor)) return;
        // Best effort: if this write fails too, the retry starts from the old cursor (re-seeing only).
        await directory.updateCursors(mailbox.providerId, { gmailHistoryId: done }).catch(() => undefined);
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
        done = max(done, record.id);
      }
      done = max(done, listing.snapshot);
      await directory.updateCursors(mailbox.providerId, { gmailHistoryId: done });
      if (newer(pointerHistory, done)) {
        throw retryable("gmail_history_behind", `Gmail history reaches ${done}, the notification names ${pointerHistory}: retrying until it catches up`);
      }
      return { outcome: "processed", messages: outcomes };
    },
    async close() {},
  };
}
