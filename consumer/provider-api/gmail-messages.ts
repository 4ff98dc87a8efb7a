// Gmail mail reads: history since a cursor (every page), a message's raw MIME, the mailbox's
// current historyId, and the newest INBOX message ids (for a full sync).
import { z } from "zod";
import { permanent } from "../domain/errors.ts";
import type { GoogleCredentials } from "../domain/mailbox.ts";
import { discard, parseJson, readBytesUpTo, readJson } from "./http.ts";
import type { GmailClient } from "./gmail-client.ts";

const historyIdSchema = z.string().regex(/^\d{1,20}$/);
const historySchema = z.object({
  history: z
    .array(
      z.object({
        id: historyIdSchema,
        messagesAdded: z.array(z.object({ message: z.object({ id: z.string().min(1), threadId: z.string().optional(), labelIds: z.array(z.string()).optional() }) })).optional(),
      }),
    )
    .optional(),
  nextPageToken: z.string().optional(),
  historyId: historyIdSchema,
});
const messageSchema = z.object({ id: z.string().min(1), threadId: z.string().optional(), labelIds: z.array(z.string()).optional(), raw: z.string(), historyId: historyIdSchema.optional() });
const listSchema = z.object({ messages: z.array(z.object({ id: z.string().min(1) })).optional(), nextPageToken: z.string().optional() });
const profileSchema = z.object({ emailAddress: z.string().optional(), historyId: historyIdSchema, messagesTotal: z.number().optional() });

/** History ids are decimal strings that may exceed 2^53: compare them as such. */
export const newerHistoryId = (a: string, b: string) => (a.length !== b.length ? a.length > b.length : a > b);
export const laterHistoryId = (a: string, b: string) => (newerHistoryId(a, b) ? a : b);

/** Labels that keep a message out of the helpdesk. Unknown labels (absent) are decided on fetch. */
export const ignoredLabels = (labels: string[] | undefined) => !!labels && (labels.includes("SENT") || labels.includes("DRAFT") || !labels.includes("INBOX"));

export interface GmailMailbox {
  gmail: GmailClient;
  credentials: GoogleCredentials;
  address: string;
  signal?: AbortSignal;
}

export interface HistoryRecord {
  id: string;
  messageIds: string[];
}

const send = (m: GmailMailbox, path: string, what: string) => m.gmail.send(m.credentials, { user: m.address, path, what, ...(m.signal ? { signal: m.signal } : {}) });

/** Every page of INBOX messages added after `cursor`, deduplicated, SENT/DRAFT left out; the
 * snapshot is the larger of the historyId the first page reported (every record up to it is in
 * the listing) and the last record listed. Undefined when the cursor is older than Gmail keeps. */
export async function historySince(m: GmailMailbox, cursor: string): Promise<{ records: HistoryRecord[]; snapshot: string } | undefined> {
  const records: HistoryRecord[] = [];
  const seen = new Set<string>();
  let snapshot: string | undefined;
  let pageToken: string | undefined;
  do {
    const query = new URLSearchParams({ startHistoryId: cursor, historyTypes: "messageAdded", labelId: "INBOX", maxResults: "500", ...(pageToken ? { pageToken } : {}) });
    const call = await send(m, `/history?${query}`, "gmail_history");
    if (call.status === 404) {
      await discard(call);
      return undefined;
    }
    const page = await readJson(call, historySchema);
    snapshot ??= page.historyId;
    for (const record of page.history ?? []) {
      const messageIds: string[] = [];
      for (const { message } of record.messagesAdded ?? []) {
        if (ignoredLabels(message.labelIds) || seen.has(message.id)) continue;
        seen.add(message.id);
        messageIds.push(message.id);
      }
      records.push({ id: record.id, messageIds });
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  const last = records.at(-1)?.id;
  return { records, snapshot: last ? laterHistoryId(snapshot ?? cursor, last) : (snapshot ?? cursor) };
}

/** Room for the JSON around the base64url of the message (id, labels, snippet, sizes). */
const RAW_ENVELOPE_BYTES = 64 * 1024;

/** A message's MIME (`format=raw`), read no further than a message of `maxBytes` needs, or
 * undefined when it is gone or is not INBOX mail. */
export async function fetchRawMessage(m: GmailMailbox, id: string, maxBytes: number): Promise<{ id: string; body: { bytes: Uint8Array } | { tooLarge: number } } | undefined> {
  const call = await send(m, `/messages/${encodeURIComponent(id)}?format=raw`, "gmail_message");
  if (call.status === 404) {
    await discard(call);
    return undefined; // deleted since it was added
  }
  // The raw message comes as base64url inside JSON: 4 characters for every 3 bytes.
  const json = await readBytesUpTo(call, Math.ceil((maxBytes * 4) / 3) + RAW_ENVELOPE_BYTES);
  if ("tooLarge" in json) return { id, body: { tooLarge: Math.floor((json.tooLarge * 3) / 4) } };
  const message = parseJson(call, json.bytes, messageSchema);
  if (ignoredLabels(message.labelIds)) return undefined;
  return { id: message.id, body: { bytes: new Uint8Array(Buffer.from(message.raw, "base64url")) } };
}

/** The mailbox's profile: its address as Gmail knows it, its current historyId and size. */
export async function gmailProfile(m: GmailMailbox): Promise<z.infer<typeof profileSchema>> {
  const call = await send(m, "/profile", "gmail_profile");
  if (call.status === 404) {
    await discard(call);
    throw permanent("google_mailbox_not_found", "Gmail has no such mailbox");
  }
  return readJson(call, profileSchema);
}

/** The mailbox's current historyId. */
export async function currentHistoryId(m: GmailMailbox): Promise<string> {
  return (await gmailProfile(m)).historyId;
}

/** The newest INBOX message ids, newest first, up to `limit`; `truncated` when more exist. */
export async function recentInboxIds(m: GmailMailbox, limit: number): Promise<{ ids: string[]; truncated: boolean }> {
  const ids: string[] = [];
  let pageToken: string | undefined;
  do {
    const query = new URLSearchParams({ labelIds: "INBOX", maxResults: String(Math.min(100, limit - ids.length)), ...(pageToken ? { pageToken } : {}) });
    const call = await send(m, `/messages?${query}`, "gmail_list");
    if (call.status === 404) {
      await discard(call);
      throw permanent("google_mailbox_not_found", "Gmail has no such mailbox");
    }
    const page = await readJson(call, listSchema);
    for (const message of page.messages ?? []) if (!ids.includes(message.id)) ids.push(message.id);
    pageToken = page.nextPageToken;
  } while (pageToken && ids.length < limit);
  return { ids: ids.slice(0, limit), truncated: pageToken !== undefined };
}
