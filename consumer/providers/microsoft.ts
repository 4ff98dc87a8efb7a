// Microsoft mailboxes: subscribe (random clientState, lifecycle URL, immutable ids), write the
// edge registry, renew before expiry, recreate when Graph removed the subscription, and resync
// after `missed` or a recreate: a reconciliation sweep (Graph delta from the stored link) at once.
import { randomBytes } from "node:crypto";
import { registryField, registryValue, sha256Hex } from "../../src/queue/registry.ts";
import { permanent } from "../domain/errors.ts";
import { mailboxOfKind, type MailboxOf, type MailboxRecord } from "../domain/mailbox.ts";
import { createInboxSubscription, deleteSubscription, renewSubscription } from "../provider-api/graph-subscriptions.ts";
import { sweepMicrosoft } from "../reconcile/microsoft.ts";
import { logSweep } from "../reconcile/reconciler.ts";
import type { ProviderContext } from "./context.ts";

function microsoftMailbox(mailbox: MailboxRecord): MailboxOf<"microsoft"> {
  const own = mailboxOfKind(mailbox, "microsoft");
  if (!own) throw permanent("provider_mismatch", `${mailbox.providerId} is not a Microsoft mailbox`);
  return own;
}

/** Create a subscription for the mailbox and point the edge registry at it (replacing an old one). */
export async function subscribeMicrosoft(ctx: ProviderContext, record: MailboxRecord): Promise<{ subscriptionId: string; expiresAt: string }> {
  const mailbox = microsoftMailbox(record);
  if (!ctx.ingressUrl) throw permanent("ingress_url_missing", "INGRESS_URL is not set: Graph needs the Worker's public URL to send notifications to");
  const clientState = randomBytes(32).toString("base64url");
  const base = ctx.ingressUrl.replace(/\/$/, "");
  const subscription = await createInboxSubscription(ctx.apis.graph, mailbox.credentials, {
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
  await ctx.mailboxes.updateCursors(mailbox.providerId, {
    graphSubscriptionId: subscription.id,
    graphSubscriptionExpiresAt: subscription.expirationDateTime,
    graphClientState: clientState,
    // The sweep's first delta round starts at the first connection, not at the mailbox's history.
    ...(mailbox.cursors.graphDeltaSince ? {} : { graphDeltaSince: new Date().toISOString() }),
  });
  return { subscriptionId: subscription.id, expiresAt: subscription.expirationDateTime };
}

/** Renew; a subscription Graph no longer has is recreated, and the mailbox resynchronised. */
export async function renewMicrosoft(ctx: ProviderContext, record: MailboxRecord): Promise<"renewed" | "recreated"> {
  const mailbox = microsoftMailbox(record);
  const id = mailbox.cursors.graphSubscriptionId;
  const renewed = id ? await renewSubscription(ctx.apis.graph, mailbox.credentials, id) : undefined;
  if (renewed) {
    await ctx.mailboxes.updateCursors(mailbox.providerId, { graphSubscriptionExpiresAt: renewed.expirationDateTime });
    return "renewed";
  }
  await recreateMicrosoft(ctx, mailbox);
  return "recreated";
}

export async function recreateMicrosoft(ctx: ProviderContext, mailbox: MailboxRecord): Promise<void> {
  await subscribeMicrosoft(ctx, mailbox);
  await resyncMicrosoft(ctx, mailbox);
}

/** Sweep the mailbox now (what the subscription may have missed); returns the pointers enqueued.
 * A failure is thrown, so the lifecycle job that asked retries. */
export async function resyncMicrosoft(ctx: ProviderContext, record: MailboxRecord): Promise<number> {
  const current = (await ctx.mailboxes.get(record.providerId)) ?? record;
  const at = new Date().toISOString();
  const report = await sweepMicrosoft(ctx, current);
  await ctx.mailboxes.updateCursors(current.providerId, { lastSweep: { at, listed: report.listed, enqueued: report.enqueued, found: report.found } });
  logSweep(ctx.log, report);
  return report.enqueued;
}

export async function unsubscribeMicrosoft(ctx: ProviderContext, record: MailboxRecord): Promise<void> {
  const mailbox = microsoftMailbox(record);
  const id = mailbox.cursors.graphSubscriptionId;
  if (!id) return;
  await ctx.queue.removeRegistryEntry(registryField.microsoftSubscription(id));
  await deleteSubscription(ctx.apis.graph, mailbox.credentials, id).catch(() => undefined);
}
