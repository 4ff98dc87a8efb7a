// What a message is, before it may open a ticket (RFC 3834 and the headers real mailers set):
//   loop        mail from the helpdesk's own address, or carrying its X-Loop
//   bounce      a delivery status report (multipart/report; report-type=delivery-status), or a
//               failure notice from mailer-daemon / postmaster
//   auto_reply  Auto-Submitted other than "no", X-Autoreply, X-Autorespond, Precedence: auto_reply,
//               or Outlook's X-Auto-Response-Suppress together with an auto-reply subject
//               (the header alone is set on much ordinary Outlook mail, so it is no proof)
//   normal      everything else
// `bulk` is independent: List-Id, List-Unsubscribe, or Precedence bulk/list/junk.
import { header, type ParsedMessage } from "./parse.ts";

export type Classification = "normal" | "auto_reply" | "bounce" | "loop";

export interface ClassifyResult {
  classification: Classification;
  bulk: boolean;
  /** Why, for logs and skip reasons. */
  signal: string | undefined;
}

const AUTO_REPLY_SUBJECT = /^\s*(automatic reply|auto(matische)?\s*(reply|antwort)|autoreply|auto:|out of (the )?office|abwesenheitsnotiz|r[ée]ponse automatique|respuesta autom[aá]tica|risposta automatica|autosvar|automatisch antwoord|vacation)/i;
const BOUNCE_SENDER = /^(mailer-daemon|postmaster)@/i;
const BOUNCE_SUBJECT = /(undeliver|delivery status notification|mail delivery (failed|subsystem)|returned mail|delivery failure|failure notice|nondeliverable)/i;

export function classify(message: ParsedMessage, ownAddresses: readonly string[]): ClassifyResult {
  const own = ownAddresses.map((a) => a.toLowerCase());
  const precedence = header(message, "precedence")?.trim().toLowerCase();
  const bulk = message.headers.has("list-id") || message.headers.has("list-unsubscribe") || precedence === "bulk" || precedence === "list" || precedence === "junk";
  const result = (classification: Classification, signal?: string): ClassifyResult => ({ classification, bulk, signal });

  const from = message.from?.address;
  if (from && own.includes(from)) return result("loop", "from_own_address");
  const xLoop = (message.headers.get("x-loop") ?? []).map((v) => v.toLowerCase());
  if (xLoop.some((v) => own.some((o) => v.includes(o)))) return result("loop", "x_loop");

  if (message.contentType === "multipart/report" && message.reportType === "delivery-status") return result("bounce", "delivery_status_report");
  if (from && BOUNCE_SENDER.test(from) && (BOUNCE_SUBJECT.test(message.subject) || message.contentType === "multipart/report")) return result("bounce", "mailer_daemon");

  const autoSubmitted = header(message, "auto-submitted")?.trim().toLowerCase();
  if (autoSubmitted && !autoSubmitted.startsWith("no")) return result("auto_reply", "auto_submitted");
  if (message.headers.has("x-autoreply") || message.headers.has("x-autorespond")) return result("auto_reply", "x_autoreply");
  if (precedence === "auto_reply") return result("auto_reply", "precedence");
  if (message.headers.has("x-auto-response-suppress") && AUTO_REPLY_SUBJECT.test(message.subject)) return result("auto_reply", "outlook_auto_reply");
  return result("normal");
}
