// Graph mail reads: a message's MIME by its immutable id, and the newest inbox message ids.
import { z } from "zod";
import { sourceUnavailable } from "../domain/errors.ts";
import type { MicrosoftCredentials } from "../domain/mailbox.ts";
import { discard, readBytesUpTo, readJson } from "./http.ts";
import { graphUser, type GraphClient } from "./graph-client.ts";

const messagesSchema = z.object({ value: z.array(z.object({ id: z.string().min(1) })), "@odata.nextLink": z.string().optional() });

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

/** The newest inbox messages (immutable ids). */
export async function recentInboxMessageIds(graph: GraphClient, credentials: MicrosoftCredentials, mailbox: string, limit = 100): Promise<string[]> {
  const ids: string[] = [];
  let path: string | undefined = `${graphUser(mailbox)}/mailFolders/inbox/messages?$select=id&$orderby=receivedDateTime%20desc&$top=${Math.min(limit, 100)}`;
  while (path && ids.length < limit) {
    const call = await graph.send(credentials, { path, what: "microsoft_list" });
    if (call.status === 404) {
      await discard(call);
      break;
    }
    const page = await readJson(call, messagesSchema);
    ids.push(...page.value.map((m) => m.id));
    const next = page["@odata.nextLink"];
    path = next && graph.isGraphLink(next) ? next : undefined;
  }
  return ids.slice(0, limit);
}
