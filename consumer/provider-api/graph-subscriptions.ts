// Graph change-notification subscriptions on a mailbox's inbox: create (with a random
// clientState, a lifecycle URL and immutable ids), renew, delete. Mail subscriptions expire after
// 4230 minutes in one revision of Graph's documentation and 10080 in another: the stricter holds.
import { z } from "zod";
import { permanent } from "../domain/errors.ts";
import type { MicrosoftCredentials } from "../domain/mailbox.ts";
import { discard, readJson } from "./http.ts";
import { graphUser, type GraphClient } from "./graph-client.ts";

export const MESSAGE_SUBSCRIPTION_MINUTES = 4230;

const subscriptionSchema = z.object({
  id: z.string().min(1),
  expirationDateTime: z.string().min(1),
  resource: z.string().optional(),
});
export type GraphSubscription = z.infer<typeof subscriptionSchema>;

export function inboxResource(mailbox: string): string {
  return `${graphUser(mailbox).slice(1)}/mailFolders('inbox')/messages`;
}

export function expiryFromNow(minutes = MESSAGE_SUBSCRIPTION_MINUTES, now = Date.now()): string {
  return new Date(now + minutes * 60_000).toISOString();
}

export async function createInboxSubscription(
  graph: GraphClient,
  credentials: MicrosoftCredentials,
  options: { mailbox: string; notificationUrl: string; lifecycleNotificationUrl: string; clientState: string; expirationDateTime?: string },
): Promise<GraphSubscription> {
  const call = await graph.send(credentials, {
    method: "POST",
    path: "/subscriptions",
    what: "microsoft_subscribe",
    body: {
      changeType: "created",
      notificationUrl: options.notificationUrl,
      lifecycleNotificationUrl: options.lifecycleNotificationUrl,
      resource: inboxResource(options.mailbox),
      expirationDateTime: options.expirationDateTime ?? expiryFromNow(),
      clientState: options.clientState,
      latestSupportedTlsVersion: "v1_2",
    },
  });
  // A 404 here is the mailbox (user) Graph does not know.
  if (call.status === 404) {
    await discard(call);
    throw permanent("microsoft_mailbox_not_found", `Graph has no mailbox ${options.mailbox}`);
  }
  return readJson(call, subscriptionSchema);
}

/** The renewed subscription, or undefined when Graph no longer has it (recreate it). */
export async function renewSubscription(graph: GraphClient, credentials: MicrosoftCredentials, id: string, expirationDateTime: string = expiryFromNow()): Promise<GraphSubscription | undefined> {
  const call = await graph.send(credentials, { method: "PATCH", path: `/subscriptions/${encodeURIComponent(id)}`, what: "microsoft_renew", body: { expirationDateTime } });
  if (call.status === 404) {
    await discard(call);
    return undefined;
  }
  return readJson(call, subscriptionSchema);
}

/** Delete; a subscription Graph no longer has is gone already. */
export async function deleteSubscription(graph: GraphClient, credentials: MicrosoftCredentials, id: string): Promise<void> {
  const call = await graph.send(credentials, { method: "DELETE", path: `/subscriptions/${encodeURIComponent(id)}`, what: "microsoft_unsubscribe" });
  await discard(call);
}
