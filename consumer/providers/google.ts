// Gmail mailboxes: `watch` INBOX (its historyId becomes the cursor), write the edge registry,
// renew the watch well before it expires (daily), stop it on removal.
import { registryField, registryValue } from "../../src/queue/registry.ts";
import type { GoogleCredentials, MailboxRecord } from "../runtime/handler.ts";
import { googleToken } from "../resolvers/google.ts";
import type { ProviderContext } from "./context.ts";
import { stopWatch, watchInbox, type GmailCall } from "./gmail-watch.ts";

async function call(ctx: ProviderContext, mailbox: MailboxRecord): Promise<GmailCall> {
  if (mailbox.credentials.type !== "google") throw new Error(`${mailbox.providerId} is not a Gmail mailbox`);
  const credentials: GoogleCredentials = mailbox.credentials;
  const token = await googleToken({ gmailBaseUrl: ctx.endpoints.gmailBaseUrl, tokenUrl: ctx.endpoints.googleTokenUrl, tokens: ctx.tokens, timeoutMs: ctx.endpoints.fetchTimeoutMs }, credentials);
  return { gmailBaseUrl: ctx.endpoints.gmailBaseUrl, accessToken: token, timeoutMs: ctx.endpoints.fetchTimeoutMs };
}

export async function watchGmail(ctx: ProviderContext, mailbox: MailboxRecord, topicName: string, options: { setCursor: boolean }): Promise<{ historyId: string; expiration: string }> {
  const watch = await watchInbox(await call(ctx, mailbox), mailbox.address, topicName);
  const expiration = new Date(Number(watch.expiration)).toISOString();
  await ctx.mailboxes.updateCursors(mailbox.providerId, { ...(options.setCursor ? { gmailHistoryId: watch.historyId } : {}), gmailWatchExpiration: expiration, gmailTopic: topicName });
  await ctx.queue.setRegistryEntry(registryField.googleMailbox(mailbox.address), registryValue({ tenantId: mailbox.tenantId, providerId: mailbox.providerId }));
  return { historyId: watch.historyId, expiration };
}

export async function unwatchGmail(ctx: ProviderContext, mailbox: MailboxRecord): Promise<void> {
  await ctx.queue.removeRegistryEntry(registryField.googleMailbox(mailbox.address));
  await stopWatch(await call(ctx, mailbox), mailbox.address).catch(() => undefined);
}
