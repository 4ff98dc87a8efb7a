// Automatic replies: out-of-office notices, vacation responders, acknowledgements, read receipts.
// On a live ticket they become an internal note; otherwise they open nothing. Decided by, in order:
//   auto_submitted       Auto-Submitted other than "no" (RFC 3834 5)
//   x_autoreply          X-Autoreply, X-Autorespond (Gmail, Yahoo, cPanel and many responders)
//   precedence           Precedence: auto_reply
//   read_receipt         a message disposition notification (RFC 8098): report-type
//                        disposition-notification, or such a part of this message
//   exchange_inbox_rule  X-MS-Exchange-Inbox-Rules-Loop with X-Auto-Response-Suppress: All, the pair
//                        Exchange stamps on replies its rules and Automatic Replies send (not on a
//                        forward: a rule that forwards a customer's mail carries the loop header too)
//   outlook_auto_reply   X-Auto-Response-Suppress with an auto-reply subject
//   auto_reply_subject…  a distinctive auto-reply subject ("Automatic reply:", "Abwesenheitsnotiz:",
//                        "Réponse automatique :", "Auto reply:" from iCloud, …), alone, or a weaker
//                        one ("Auto:", "Absent:") with In-Reply-To, a null Return-Path or the loop header
//   null_return_path     Return-Path <> on anything else: RFC 5321 4.5.5 keeps the null path for
//                        notifications, which a person's mail client never sends
// The X-Auto-Response-Suppress header alone is set on much ordinary Outlook mail, so it is no proof.
import { header, type ParsedMessage } from "../parse.ts";
import { nullReturnPath } from "./senders.ts";
import { isAutoReplySubject, isForwardSubject, isWeakAutoReplySubject } from "./subjects.ts";

const DISPOSITION_TYPES = new Set(["message/disposition-notification", "message/global-disposition-notification"]);

export function detectAutoReply(message: ParsedMessage): string | undefined {
  const autoSubmitted = header(message, "auto-submitted")?.trim().toLowerCase();
  if (autoSubmitted && !autoSubmitted.startsWith("no")) return "auto_submitted";
  if (message.headers.has("x-autoreply") || message.headers.has("x-autorespond")) return "x_autoreply";
  if (header(message, "precedence")?.trim().toLowerCase() === "auto_reply") return "precedence";
  if (message.reportType === "disposition-notification" || message.reports.some((r) => DISPOSITION_TYPES.has(r.contentType))) return "read_receipt";

  const suppress = header(message, "x-auto-response-suppress");
  const rulesLoop = message.headers.has("x-ms-exchange-inbox-rules-loop");
  const forward = isForwardSubject(message.subject);
  if (rulesLoop && suppress !== undefined && /\ball\b/i.test(suppress) && !forward) return "exchange_inbox_rule";

  const subject = isAutoReplySubject(message.subject);
  if (subject && suppress !== undefined) return "outlook_auto_reply";
  if (subject) return "auto_reply_subject";
  const nullPath = nullReturnPath(message);
  if (isWeakAutoReplySubject(message.subject)) {
    if (message.inReplyTo || message.references.length > 0) return "auto_reply_subject+in_reply_to";
    if (nullPath) return "auto_reply_subject+null_return_path";
    if (rulesLoop) return "auto_reply_subject+inbox_rules_loop";
  }
  return nullPath ? "null_return_path" : undefined;
}
