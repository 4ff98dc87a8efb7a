// What an event announces of the message it stands for, beyond what the ticket, comment and
// document rows hold: its headers, classification and sender check. Written into the event row by
// apply_message() (p_event_message), so the payload is the same on every retry.
import { parseAddressList } from "../mime/address.ts";
import type { Classification } from "../mime/classify.ts";
import type { ParsedMessage } from "../mime/parse.ts";

export interface MessageSummary {
  messageId: string | null;
  from: { address: string; name: string } | null;
  to: string[];
  cc: string[];
  replyTo: string[];
  subject: string;
  /** The Date header as sent. */
  date: string | null;
  inReplyTo: string | null;
  references: string[];
  classification: Classification | "message_too_large";
  suspicious: boolean;
  suspiciousReason: string | null;
}

export function summariseMessage(parsed: ParsedMessage, classification: Classification, suspicious: { suspicious: boolean; reason: string | undefined }): MessageSummary {
  return {
    messageId: parsed.messageId ?? null,
    from: parsed.from ? { address: parsed.from.address, name: parsed.from.name } : null,
    to: parsed.to,
    cc: parsed.cc,
    replyTo: parseAddressList(parsed.headers.get("reply-to")?.join(", ")).map((m) => m.address),
    subject: parsed.subject,
    date: parsed.date ?? null,
    inReplyTo: parsed.inReplyTo ?? null,
    references: parsed.references,
    classification,
    suspicious: suspicious.suspicious,
    suspiciousReason: suspicious.reason ?? null,
  };
}

/** A message that was not parsed (too large): only what the provider said. */
export const UNPARSED_MESSAGE: MessageSummary = {
  messageId: null,
  from: null,
  to: [],
  cc: [],
  replyTo: [],
  subject: "",
  date: null,
  inReplyTo: null,
  references: [],
  classification: "message_too_large",
  suspicious: false,
  suspiciousReason: null,
};
