// IMAP mailboxes: connecting one logs in, reads where the folder stands (UIDVALIDITY and the
// next UID) and stores it as the mailbox's cursor before the edge registry accepts its
// notifications, so mail that arrives before a watcher first connects is caught up from there,
// not taken for the mailbox's history. A login the server refuses fails the connection.
import { ImapFlow } from "imapflow";
import { registryField, registryValue } from "../../src/queue/registry.ts";
import { authorisationLost, permanent, retryable } from "../domain/errors.ts";
import { mailboxOfKind, type MailboxRecord } from "../domain/mailbox.ts";
import { imapAuthRefused, imapLogin } from "../resolvers/imap-connection.ts";
import type { ProviderContext } from "./context.ts";

export async function connectImap(ctx: ProviderContext, record: MailboxRecord): Promise<{ folder: string; uidValidity: string; lastUid: number }> {
  const mailbox = mailboxOfKind(record, "imap");
  if (!mailbox) throw permanent("provider_mismatch", `${record.providerId} is not an IMAP mailbox`);
  const folder = mailbox.credentials.folder ?? "INBOX";
  const timeout = ctx.apis.timeoutMs;
  const login = await imapLogin(mailbox.credentials, ctx.apis.imapTokens);
  const client = new ImapFlow({ ...login.options, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout });
  client.on("error", () => undefined); // the pending command fails with it
  try {
    await client.connect();
    const opened = await client.mailboxOpen(folder, { readOnly: true });
    const uidValidity = String(opened.uidValidity);
    const lastUid = Math.max(0, (opened.uidNext ?? 1) - 1);
    await ctx.mailboxes.updateCursors(mailbox.providerId, { imapUidValidity: uidValidity, imapLastUid: lastUid, needsResync: false });
    await ctx.queue.setRegistryEntry(registryField.imapProvider(mailbox.providerId), registryValue({ tenantId: mailbox.tenantId, providerId: mailbox.providerId }));
    return { folder, uidValidity, lastUid };
  } catch (error) {
    if (imapAuthRefused(error)) throw authorisationLost("imap_auth_failed", "the IMAP server refused the login", { cause: error });
    throw retryable("imap_connect_failed", `cannot open ${folder}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    await client.logout().catch(() => client.close());
  }
}
