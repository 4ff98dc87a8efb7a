// Gmail mailboxes: `watch` INBOX (its historyId becomes the cursor), write the edge registry,
// renew the watch well before it expires (daily), stop it on removal.
import { registryField, registryValue } from "../../src/queue/registry.ts";
import { permanent } from "../domain/errors.ts";
import { mailboxOfKind, type MailboxOf, type MailboxRecord } from "../domain/mailbox.ts";
import { stopWatch, watchInbox } from "../provider-api/gmail-watch.ts";
import type { ProviderContext } from "./context.ts";

function gmailMailbox(mailbox: MailboxRecord): MailboxOf<"google"> {
  const own = mailboxOfKind(mailbox, "google");
  if (!own) throw permanent("provider_mismatch", `${mailbox.providerId} is not a Gmail mailbox`);
  return own;
}

export async function watchGmail(ctx: ProviderContext, record: MailboxRecord, topicName: string, options: { setCursor: boolean }): Promise<{ historyId: string; expiration: string }> {
  const mailbox = gmailMailbox(record);
  const watch = await watchInbox(ctx.apis.gmail, mailbox.credentials, mailbox.address, topicName);
  const expiration = new Date(Number(watch.expiration)).toISOString();
  await ctx.mailboxes.updateCursors(mailbox.providerId, { ...(options.setCursor ? { gmailHistoryId: watch.historyId } : {}), gmailWatchExpiration: expiration, gmailTopic: topicName });
  await ctx.queue.setRegistryEntry(registryField.googleMailbox(mailbox.address), registryValue({ tenantId: mailbox.tenantId, providerId: mailbox.providerId }));
  if (options.setCursor) await ctx.queue.confirmGmailCursor(mailbox.address, watch.historyId);
  return { historyId: watch.historyId, expiration };
}

export async function unwatchGmail(ctx: ProviderContext, record: MailboxRecord): Promise<void> {
  const mailbox = gmailMailbox(record);
  await ctx.queue.removeRegistryEntry(registryField.googleMailbox(mailbox.address));
  await stopWatch(ctx.apis.gmail, mailbox.credentials, mailbox.address).catch(() => undefined);
}
