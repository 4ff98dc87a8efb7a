// Graph delta query on a mailbox's Inbox, new messages only: the first round starts from a time
// (`receivedDateTime ge`), each page links to the next (`@odata.nextLink`) until the last, whose
// `@odata.deltaLink` is where the next round starts. Either link is a resumable cursor: every
// query option is encoded in it. An expired sync state answers 410 Gone.
import { z } from "zod";
import { permanent, retryable } from "../domain/errors.ts";
import type { MicrosoftCredentials } from "../domain/mailbox.ts";
import { discard, readJson } from "./http.ts";
import { graphUser, type GraphClient } from "./graph-client.ts";

/** Messages per page asked for (Graph's default is 10). */
export const DELTA_PAGE_SIZE = 100;

const pageSchema = z.object({
  value: z.array(z.looseObject({ id: z.string().min(1), receivedDateTime: z.string().optional(), "@removed": z.unknown().optional() })),
  "@odata.nextLink": z.string().optional(),
  "@odata.deltaLink": z.string().optional(),
});

export interface DeltaPage {
  messages: { id: string; receivedAt: number | undefined }[];
  /** Where to go on: the next page of this round, or (`done`) the start of the next round. */
  link: string;
  done: boolean;
}

/** Where a fresh round starts: new Inbox messages received at `since` or later. */
export function deltaStart(mailbox: string, since: Date): string {
  const query = new URLSearchParams({ changeType: "created", $select: "id,receivedDateTime", $filter: `receivedDateTime ge ${since.toISOString()}` });
  return `${graphUser(mailbox)}/mailFolders/inbox/messages/delta?${query}`;
}

/** One page of a round, or `gone` when the sync state behind the link has expired. */
export async function deltaPage(graph: GraphClient, credentials: MicrosoftCredentials, link: string, signal?: AbortSignal): Promise<DeltaPage | "gone"> {
  const call = await graph.send(credentials, {
    path: link,
    what: "microsoft_delta",
    headers: { prefer: `IdType="ImmutableId", odata.maxpagesize=${DELTA_PAGE_SIZE}` },
    returns: [410],
    ...(signal ? { signal } : {}),
  });
  if (call.status === 410) {
    await discard(call);
    return "gone";
  }
  if (call.status === 404) {
    await discard(call);
    throw permanent("microsoft_mailbox_not_found", "Graph has no such mailbox or Inbox");
  }
  const page = await readJson(call, pageSchema);
  const next = page["@odata.nextLink"] ?? page["@odata.deltaLink"];
  if (!next || !graph.isGraphLink(next)) throw retryable("microsoft_delta_invalid_response", "microsoft_delta: a page without a link back to Graph");
  const messages = page.value
    .filter((m) => m["@removed"] === undefined)
    .map((m) => ({ id: m.id, receivedAt: m.receivedDateTime ? Date.parse(m.receivedDateTime) : undefined }));
  return { messages, link: next, done: page["@odata.nextLink"] === undefined };
}
