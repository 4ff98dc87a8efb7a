// Which message this is, for exactly-once. The RFC Message-ID (already normalised by the parser:
// brackets stripped, has @, no whitespace, <= 998 chars) is the same whichever provider or
// notification brought the mail, so keyed on (tenant, Message-ID) a message that reaches the
// helpdesk through two connected mailboxes (say IMAP and Graph) is applied once. The provider is
// kept as a column, not as part of the key.
// Without a sane Message-ID the provider's own id is all there is; it is only unique within one
// mailbox (an IMAP `<uidValidity>:<uid>` repeats across mailboxes), so the mailbox id is part of it.
import type { ResolvedMessage } from "../domain/message.ts";

export function messageIdentity(messageId: string | undefined, message: Pick<ResolvedMessage, "provider" | "providerId" | "providerMessageId">): string {
  return messageId ?? `${message.provider}:${message.providerId}:${message.providerMessageId}`;
}
