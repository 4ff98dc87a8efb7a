// Gmail: the pointer only says "something changed in this mailbox". The resolver lists history
// from the mailbox's stored cursor (historyTypes=messageAdded, labelId=INBOX, every page), fetches
// each new INBOX message with messages.get?format=raw and hands it to processing on its own.
//   - one message gone (404) is skipped; the others go on
//   - a transient failure on message k stops there: the cursor moves to the last history record
//     completely done before k, and the job retries from that point (nothing skipped, nothing
//     reprocessed that was done, thanks to idempotent processing either way)
//   - when all is done the cursor moves to the historyId the listing reported
//   - history 404 (cursor too old) or no cursor yet: resynchronise from messages.list (recent
//     INBOX mail, idempotent processing drops what was seen), then set the cursor — never a gap
//   - SENT and DRAFT messages are ignored
import { z } from "zod";
import { permanent } from "../runtime/errors.ts";
import type { GoogleCredentials, ProcessOutcome } from "../runtime/handler.ts";
import type { JobOutcome, ResolveContext, Resolver } from "../runtime/resolver.ts";
import { failure, request } from "./http.ts";
import type { TokenCache } from "./token-cache.ts";

export interface GoogleResolverOptions {
  gmailBaseUrl: string;
  tokenUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
  /** How many recent INBOX messages a resync looks at. */
  resyncLimit?: number;
}

const historySchema = z.object({
  history: z.array(z.object({ id: z.string(), messagesAdded: z.array(z.object({ message: z.object({ id: z.string(), labelIds: z.array(z.string()).optional() }) })).optional() })).optional(),
  nextPageToken: z.string().optional(),
  historyId: z.string(),
});
const messageSchema = z.object({ id: z.string(), labelIds: z.array(z.string()).optional(), raw: z.string() });
const listSchema = z.object({ messages: z.array(z.object({ id: z.string() })).optional(), nextPageToken: z.string().optional(), resultSizeEstimate: z.number().optional() });

const ignored = (labels: string[] | undefined) => !!labels && (labels.includes("SENT") || labels.includes("DRAFT") || !labels.includes("INBOX"));
const newer = (a: string, b: string) => (a.length !== b.length ? a.length > b.length : a > b);

export function googleToken(options: GoogleResolverOptions, credentials: GoogleCredentials, signal?: AbortSignal): Promise<string> {
  return options.tokens.get(
    `google:${credentials.clientId}:${credentials.refreshToken.slice(-12)}`,
    options.tokenUrl,
    { grant_type: "refresh_token", refresh_token: credentials.refreshToken, client_id: credentials.clientId, client_secret: credentials.clientSecret },
    { timeoutMs: options.timeoutMs, ...(signal ? { signal } : {}) },
    "google",
  );
}

export function createGoogleResolver(options: GoogleResolverOptions): Resolver {
  const base = options.gmailBaseUrl.replace(/\/$/, "");

  return {
    provider: "google",
    async handle({ job, mailbox, directory, processor, signal }: ResolveContext): Promise<JobOutcome> {
      if (job.provider !== "google") throw permanent("malformed_pointer", "not a Gmail job");
      if (mailbox.credentials.type !== "google") throw permanent("provider_mismatch", "mailbox has no Google credentials");
      const credentials = mailbox.credentials;
      const user = encodeURIComponent(mailbox.address);
      const pointerHistory = job.pointer.historyId;

      const get = async (path: string, what: string): Promise<Response> => {
        const token = await googleToken(options, credentials, signal);
        const response = await request(`${base}/gmail/v1/users/${user}${path}`, { headers: { authorization: `Bearer ${token}` } }, { timeoutMs: options.timeoutMs, signal }, what);
        if (response.status === 401) {
          options.tokens.invalidate(`google:${credentials.clientId}:${credentials.refreshToken.slice(-12)}`);
          throw permanent("google_auth_revoked", "Gmail refused the access token (401)");
        }
        return response;
      };

      const processOne = async (id: string): Promise<ProcessOutcome | undefined> => {
        const response = await get(`/messages/${encodeURIComponent(id)}?format=raw`, "gmail_message");
        if (response.status === 404) return undefined; // deleted since it was added
        if (!response.ok) throw await failure(response, "gmail_message");
        const message = messageSchema.parse(await response.json());
        if (ignored(message.labelIds)) return undefined;
        const raw = new Uint8Array(Buffer.from(message.raw, "base64url"));
        return processor.process({ provider: "google", tenantId: job.tenantId, providerId: job.providerId, providerMessageId: message.id, raw }, signal);
      };

      const resync = async (): Promise<JobOutcome> => {
        const ids: string[] = [];
        let pageToken: string | undefined;
        do {
          const response = await get(`/messages?labelIds=INBOX&maxResults=100${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ""}`, "gmail_list");
          if (!response.ok) throw await failure(response, "gmail_list");
          const page = listSchema.parse(await response.json());
          ids.push(...(page.messages ?? []).map((m) => m.id));
          pageToken = page.nextPageToken;
        } while (pageToken && ids.length < (options.resyncLimit ?? 500));
        const outcomes: ProcessOutcome[] = [];
        for (const id of ids.slice(0, options.resyncLimit ?? 500).reverse()) {
          const outcome = await processOne(id);
          if (outcome) outcomes.push(outcome);
        }
        await directory.updateCursors(mailbox.providerId, { gmailHistoryId: pointerHistory, needsResync: false });
        return { outcome: "processed", messages: outcomes };
      };

      const cursor = mailbox.cursors.gmailHistoryId;
      if (!cursor || mailbox.cursors.needsResync) return resync();
      if (!newer(pointerHistory, cursor)) return { outcome: "processed", messages: [] }; // already past it

      // List every page first: the cursor may only move once the whole listing is known.
      const added: { id: string; record: string }[] = [];
      const seen = new Set<string>();
      let latest = cursor;
      let pageToken: string | undefined;
      do {
        const response = await get(`/history?startHistoryId=${encodeURIComponent(cursor)}&historyTypes=messageAdded&labelId=INBOX&maxResults=500${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ""}`, "gmail_history");
        if (response.status === 404) return resync();
        if (!response.ok) throw await failure(response, "gmail_history");
        const page = historySchema.parse(await response.json());
        for (const record of page.history ?? []) {
          for (const { message } of record.messagesAdded ?? []) {
            if (ignored(message.labelIds) || seen.has(message.id)) continue;
            seen.add(message.id);
            added.push({ id: message.id, record: record.id });
          }
        }
        if (newer(page.historyId, latest)) latest = page.historyId;
        pageToken = page.nextPageToken;
      } while (pageToken);

      const outcomes: ProcessOutcome[] = [];
      let done = cursor;
      for (const [i, { id, record }] of added.entries()) {
        try {
          const outcome = await processOne(id);
          if (outcome) outcomes.push(outcome);
        } catch (error) {
          // Everything in records before this one is done: resume from there next time.
          if (newer(done, cursor)) await directory.updateCursors(mailbox.providerId, { gmailHistoryId: done });
          throw error;
        }
        const next = added[i + 1];
        if (!next || next.record !== record) done = newer(record, done) ? record : done;
      }
      await directory.updateCursors(mailbox.providerId, { gmailHistoryId: newer(latest, pointerHistory) ? latest : pointerHistory });
      return { outcome: "processed", messages: outcomes };
    },
    async close() {},
  };
}

