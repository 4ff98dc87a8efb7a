// Microsoft mailboxes: subscribe (random clientState, lifecycle URL, immutable ids), write the
// edge registry, renew before expiry, recreate when Graph removed the subscription, and resync
// (recent inbox messages re-enqueued; processing is idempotent) after `missed` or a recreate.
import { randomBytes } from "node:crypto";
import { registryField, registryValue, sha256Hex } from "../../src/queue/registry.ts";
import type { MailboxRecord, MicrosoftCredentials } from "../runtime/handler.ts";
import { microsoftToken } from "../resolvers/microsoft.ts";
import type { ProviderContext } from "./context.ts";
import { createInboxSubscription, deleteSubscription, GraphError, recentInboxMessageIds, renewSubscription, type GraphCall } from "./graph-subscriptions.ts";

async function call(ctx: ProviderContext, credentials: MicrosoftCredentials): Promise<GraphCall> {
  const token = await microsoftToken({ graphBaseUrl: ctx.endpoints.graphBaseUrl, loginBaseUrl: ctx.endpoints.microsoftLoginBaseUrl, tokens: ctx.tokens, timeoutMs: ctx.endpoints.fetchTimeoutMs }, credentials);
  return { graphBaseUrl: ctx.endpoints.graphBaseUrl, accessToken: token, timeoutMs: ctx.endpoints.fetchTimeoutMs };
}

function credentialsOf(mailbox: MailboxRecord): MicrosoftCredentials {
  if (mailbox.credentials.type !== "microsoft") throw new Error(`${mailbox.providerId} is not a Microsoft mailbox`);
  return mailbox.credentials;
}

/** Create a subscription for the mailbox and point the edge registry at it (replacing an old one). */
export async function subscribeMicrosoft(ctx: ProviderContext, mailbox: MailboxRecord): Promise<{ subscriptionId: string; expiresAt: string }> {
  if (!ctx.ingressUrl) throw new Error("INGRESS_URL is not set: Graph needs the Worker's public URL to send notifications to");
  const clientState = randomBytes(32).toString("base64url");
  const base = ctx.ingressUrl.replace(/\/$/, "");
  const subscription = await createInboxSubscription(await call(ctx, credentialsOf(mailbox)), {
    mailbox: mailbox.address,
    notificationUrl: `${base}/webhooks/microsoft`,
    lifecycleNotificationUrl: `${base}/webhooks/microsoft/lifecycle`,
    clientState,
  });
  const previous = mailbox.cursors.graphSubscriptionId;
  await ctx.queue.setRegistryEntry(
    registryField.microsoftSubscription(subscription.id),
    registryValue({ tenantId: mailbox.tenantId, providerId: mailbox.providerId, secretHash: await sha256Hex(clientState) }),
    previous && previous !== subscription.id ? registryField.microsoftSubscription(previous) : "",
  );
  await ctx.mailboxes.updateCursors(mailbox.providerId, { graphSubscriptionId: subscription.id, graphSubscriptionExpiresAt: subscription.expirationDateTime, graphClientState: clientState });
  return { subscriptionId: subscription.id, expiresAt: subscription.expirationDateTime };
}

/** Renew; a subscription Graph no longer has is recreated, and the mailbox resynchronised. */
export async function renewMicrosoft(ctx: ProviderContext, mailbox: MailboxRecord): Promise<"renewed" | "recreated"> {
  const id = mailbox.cursors.graphSubscriptionId;
  if (id) {
    try {
      const renewed = await renewSubscription(await call(ctx, credentialsOf(mailbox)), id);
      await ctx.mailboxes.updateCursors(mailbox.providerId, { graphSubscriptionExpiresAt: renewed.expirationDateTime });
      return "renewed";
    } catch (error) {
      if (!(error instanceof GraphError && error.status === 404)) throw error;
    }
  }
  await recreateMicrosoft(ctx, mailbox);
  return "recreated";
}

export async function recreateMicrosoft(ctx: ProviderContext, mailbox: MailboxRecord): Promise<void> {
  await subscribeMicrosoft(ctx, mailbox);
  await resyncMicrosoft(ctx, mailbox);
}

/** Re-enqueue pointers for the newest inbox messages; the ingress dedupe window and processing's
 * idempotency make the ones already handled cost nothing. */
export async function resyncMicrosoft(ctx: ProviderContext, mailbox: MailboxRecord, limit = 100): Promise<number> {
  const current = (await ctx.mailboxes.get(mailbox.providerId)) ?? mailbox;
  const subscriptionId = current.cursors.graphSubscriptionId ?? "resync";
  const ids = await recentInboxMessageIds(await call(ctx, credentialsOf(current)), current.address, limit);
  const { enqueued } = await ctx.queue.enqueue(
    ids.reverse().map((messageId) => ({
      dedupeKey: `microsoft:${subscriptionId}:${messageId}`,
      job: { provider: "microsoft" as const, tenantId: current.tenantId, providerId: current.providerId, pointer: { subscriptionId, messageId, resource: `Users/${current.address}/Messages/${messageId}`, changeType: "created" as const } },
    })),
  );
  return enqueued;
}

export async function unsubscribeMicrosoft(ctx: ProviderContext, mailbox: MailboxRecord): Promise<void> {
  const id = mailbox.cursors.graphSubscriptionId;
  if (!id) return;
  await ctx.queue.removeRegistryEntry(registryField.microsoftSubscription(id));
  await deleteSubscription(await call(ctx, credentialsOf(mailbox)), id).catch(() => undefined);
}
