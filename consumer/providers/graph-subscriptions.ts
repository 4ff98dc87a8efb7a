// Microsoft Graph change-notification subscriptions on a mailbox's inbox: create (with a random
// clientState, a lifecycle URL and immutable ids), renew, delete; and the recent inbox message
// ids a resync re-enqueues. Facts: ../../../shared/notes/protocols.md, "Microsoft Graph".
import { z } from "zod";

export const MESSAGE_SUBSCRIPTION_MINUTES = 4230; // the stricter of the documented limits

const subscriptionSchema = z.object({
  id: z.string().min(1),
  expirationDateTime: z.string().min(1),
  resource: z.string().optional(),
});
export type GraphSubscription = z.infer<typeof subscriptionSchema>;

const messagesSchema = z.object({ value: z.array(z.object({ id: z.string().min(1) })), "@odata.nextLink": z.string().optional() });

export class GraphError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface GraphCall {
  graphBaseUrl: string;
  accessToken: string;
  timeoutMs?: number;
}

/** `path` is relative to the Graph base URL, or an absolute `@odata.nextLink`. */
async function graph(call: GraphCall, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = path.startsWith("http") ? path : `${call.graphBaseUrl.replace(/\/$/, "")}${path}`;
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${call.accessToken}`,
      prefer: 'IdType="ImmutableId"',
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(call.timeoutMs ?? 15_000),
  });
  const text = await response.text();
  if (!response.ok) {
    let detail = text.slice(0, 300);
    try {
      const parsed = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).parse(JSON.parse(text));
      detail = `${parsed.error.code}: ${parsed.error.message}`;
    } catch {
      // not a Graph error body; keep the raw start
    }
    throw new GraphError(response.status, `Graph ${method} ${path} answered ${response.status}: ${detail}`);
  }
  return text ? (JSON.parse(text) as unknown) : undefined;
}

export function inboxResource(mailbox: string): string {
  return `users/${encodeURIComponent(mailbox)}/mailFolders('inbox')/messages`;
}

export function expiryFromNow(minutes = MESSAGE_SUBSCRIPTION_MINUTES, now = Date.now()): string {
  return new Date(now + minutes * 60_000).toISOString();
}

export async function createInboxSubscription(
  call: GraphCall,
  options: { mailbox: string; notificationUrl: string; lifecycleNotificationUrl: string; clientState: string; expirationDateTime?: string },
): Promise<GraphSubscription> {
  const created = await graph(call, "POST", "/subscriptions", {
    changeType: "created",
    notificationUrl: options.notificationUrl,
    lifecycleNotificationUrl: options.lifecycleNotificationUrl,
    resource: inboxResource(options.mailbox),
    expirationDateTime: options.expirationDateTime ?? expiryFromNow(),
    clientState: options.clientState,
    latestSupportedTlsVersion: "v1_2",
  });
  return subscriptionSchema.parse(created);
}

export async function renewSubscription(call: GraphCall, id: string, expirationDateTime: string = expiryFromNow()): Promise<GraphSubscription> {
  return subscriptionSchema.parse(await graph(call, "PATCH", `/subscriptions/${encodeURIComponent(id)}`, { expirationDateTime }));
}

export async function deleteSubscription(call: GraphCall, id: string): Promise<void> {
  try {
    await graph(call, "DELETE", `/subscriptions/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!(error instanceof GraphError && error.status === 404)) throw error;
  }
}

/** The newest inbox messages (immutable ids), for a resync after `missed` or a lost subscription. */
export async function recentInboxMessageIds(call: GraphCall, mailbox: string, limit = 100): Promise<string[]> {
  const ids: string[] = [];
  let path: string | undefined = `/users/${encodeURIComponent(mailbox)}/mailFolders/inbox/messages?$select=id&$orderby=receivedDateTime%20desc&$top=${Math.min(limit, 100)}`;
  while (path && ids.length < limit) {
    const page = messagesSchema.parse(await graph(call, "GET", path));
    ids.push(...page.value.map((m) => m.id));
    const next = page["@odata.nextLink"];
    // Follow only links back to Graph itself: the bearer token goes wherever the link points.
    path = next && new URL(next).origin === new URL(call.graphBaseUrl).origin ? next : undefined;
  }
  return ids.slice(0, limit);
}
