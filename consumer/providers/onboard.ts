// Each provider's onboarding step for connectMailbox (./connect.ts): what makes the stored
// mailbox receive notifications. A mailbox connected again keeps its cursors, so its next sweep
// (or the IMAP watcher's catch-up) starts where it stood when its grant was lost.
import { registryField, registryValue } from "../../src/queue/registry.ts";
import { permanent } from "../domain/errors.ts";
import type { ProviderContext } from "./context.ts";
import type { Onboard } from "./connect.ts";
import { watchGmail } from "./google.ts";
import { connectImap } from "./imap.ts";
import { subscribeMicrosoft } from "./microsoft.ts";

/** A new Graph subscription each time: notifications (and sweeps) of the new one carry new dedupe keys. */
export const onboardMicrosoft = (ctx: ProviderContext): Onboard => async (record) => {
  const { subscriptionId, expiresAt } = await subscribeMicrosoft(ctx, record);
  return { subscriptionId, expiresAt };
};

/** `users.watch` on INBOX; its historyId becomes the cursor unless the mailbox keeps its own. */
export const onboardGmail = (ctx: ProviderContext, topic: string | undefined): Onboard => async (record, connectedAs) => {
  const topicName = topic ?? record.cursors.gmailTopic;
  if (!topicName) throw permanent("gmail_topic_missing", "give --topic: no Pub/Sub topic is recorded for this mailbox");
  const watch = await watchGmail(ctx, record, topicName, { setCursor: connectedAs !== "reconnected" || !record.cursors.gmailHistoryId });
  return { historyId: watch.historyId, expiresAt: watch.expiration };
};

/** The folder's state as the cursor for a new mailbox; a reconnected one keeps the cursor it has. */
export const onboardImap = (ctx: ProviderContext): Onboard => async (record, connectedAs) => {
  if (connectedAs === "reconnected" && record.cursors.imapUidValidity !== undefined) {
    await ctx.queue.setRegistryEntry(registryField.imapProvider(record.providerId), registryValue({ tenantId: record.tenantId, providerId: record.providerId }));
    return { folder: record.kind === "imap" ? (record.credentials.folder ?? "INBOX") : "INBOX", uidValidity: record.cursors.imapUidValidity };
  }
  const connected = await connectImap(ctx, record);
  return { folder: connected.folder, uidValidity: connected.uidValidity };
};
