// Which ticket a message belongs to: In-Reply-To first, then References (newest first), then the
// message's own id, then a ticket token in the subject. The own id is there for mail arriving out
// of order: a later message of the conversation that was stored first named it in References,
// and a ticket or comment records all its message's ids against the ticket, so the late parent
// joins the ticket its reply opened. A reply whose references are all unknown and has no token
// opens a new ticket. The lookup itself runs inside apply_message() (migration 4), under a lock
// on these ids, so messages of one thread processed at the same time take turns.
import type { ParsedMessage } from "../mime/parse.ts";

export interface ThreadKeys {
  /** Message-IDs to look up, in order of preference. */
  messageIds: string[];
  /** A ticket number from the subject token, if any. */
  ticketNumber: number | undefined;
}

export const DEFAULT_TICKET_TOKEN = /\[#(\d{1,12})\]/;

export function threadKeys(parsed: ParsedMessage, token: RegExp): ThreadKeys {
  const ids = [parsed.inReplyTo, ...[...parsed.references].reverse(), parsed.messageId].filter((id): id is string => !!id);
  const number = token.exec(parsed.subject)?.[1];
  return { messageIds: [...new Set(ids)], ticketNumber: number && /^\d{1,15}$/.test(number) ? Number(number) : undefined };
}
