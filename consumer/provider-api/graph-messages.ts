// Graph mail reads: a message's MIME by its immutable id; the Inbox folder (the cheapest call that
// proves the app may read the mailbox).
import { z } from "zod";
import { permanent, sourceUnavailable } from "../domain/errors.ts";
import type { MicrosoftCredentials } from "../domain/mailbox.ts";
import { discard, readBytesUpTo, readJson } from "./http.ts";
import { graphUser, type GraphClient } from "./graph-client.ts";

/** The exact MIME bytes (`GET /users/{mailbox}/messages/{id}/$value`), read no further than
 * `maxBytes`. A message that is gone (deleted, or moved out of reach) is a deterministic skip. */
export async function fetchMime(graph: GraphClient, credentials: MicrosoftCredentials, mailbox: string, messageId: string, maxBytes: number, signal?: AbortSignal): Promise<{ bytes: Uint8Array } | { tooLarge: number }> {
  const call = await graph.send(credentials, { path: `${graphUser(mailbox)}/messages/${encodeURIComponent(messageId)}/$value`, what: "microsoft_fetch", ...(signal ? { signal } : {}) });
  if (call.status === 404) {
    await discard(call);
    throw sourceUnavailable("microsoft_message_not_found", "Graph has no such message (deleted or moved out of reach)");
  }
  return readBytesUpTo(call, maxBytes);
}

const folderSchema = z.object({ id: z.string(), totalItemCount: z.number().optional() });

/** The mailbox's Inbox (`GET /users/{mailbox}/mailFolders/inbox`): a 403 here means the granted
 * permission does not reach this mailbox. */
export async function inboxFolder(graph: GraphClient, credentials: MicrosoftCredentials, mailbox: string, signal?: AbortSignal): Promise<{ totalItemCount: number | undefined }> {
  const call = await graph.send(credentials, { path: `${graphUser(mailbox)}/mailFolders/inbox?$select=id,totalItemCount`, what: "microsoft_inbox", ...(signal ? { signal } : {}) });
  if (call.status === 404) {
    await discard(call);
    throw permanent("microsoft_mailbox_not_found", `Graph has no mailbox ${mailbox} (or it has no Exchange Online licence)`);
  }
  return { totalItemCount: (await readJson(call, folderSchema)).totalItemCount };
}
