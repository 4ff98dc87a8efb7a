// Everything Inlet understands about one message, in one call: the parse, the classification, the
// sender check and the reply without its quoted history. Processing and `inlet parse` both use it,
// so the command shows exactly what the consumer decides.
import { classify, type ClassifyResult } from "./classify.ts";
import { DEFAULT_MAIL_OPTIONS, type MailOptions } from "./options.ts";
import { parseMessage, type ParsedMessage } from "./parse.ts";
import { stripQuotedReply } from "./quoted-reply.ts";
import { checkSender, type MailboxProvider, type SenderCheck } from "./sender-check.ts";

export interface MessageContext {
  /** The helpdesk's own addresses (loop detection). */
  ownAddresses: readonly string[];
  /** The mailbox's provider: whose Authentication-Results stamp to believe. */
  provider: MailboxProvider;
  options?: MailOptions;
}

export interface Understanding {
  parsed: ParsedMessage;
  verdict: ClassifyResult;
  sender: SenderCheck;
  /** The text without the history it quotes (the full text is `parsed.text`). */
  replyText: string;
}

export async function understandMessage(raw: Uint8Array, context: MessageContext): Promise<Understanding> {
  const options = context.options ?? DEFAULT_MAIL_OPTIONS;
  const parsed = await parseMessage(raw, { fallbackCharset: options.fallbackCharset });
  return {
    parsed,
    verdict: classify(parsed, context.ownAddresses),
    sender: checkSender(parsed.headers, { provider: context.provider, trustedAuthservIds: options.trustedAuthservIds }),
    replyText: stripQuotedReply(parsed.text),
  };
}
