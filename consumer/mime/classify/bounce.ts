// Delivery status notifications: a failure (bounce), a delay (still being retried) or a success
// report. Decided by, in order:
//   delivery_status_report   multipart/report; report-type=delivery-status (RFC 3464)
//   delivery_status_part     a message/delivery-status part of this message under any or no report type
//   report_without_type      multipart/report with no report-type and no other report part
//   x_failed_recipients      X-Failed-Recipients (Exim, Gmail, mail.ru)
//   exchange_ndr             X-MS-Exchange-Message-Is-Ndr (Exchange, Exchange Online, Outlook.com)
//   mdaemon_dsn              X-MDDSN-Message (MDaemon's non-standard notices)
//   daemon_address/_name     From MAILER-DAEMON in any form, Exchange's system mailbox, delivery
//                            software's display names (nobody writes as these)
//   ses_notification         an Amazon SES/SNS bounce or delivery-delay notification
//   <subject>+<support>      a bounce or delay subject with a second signal: a postmaster sender, a
//                            null Return-Path, X-Mailer-Daemon, Auto-Submitted, or multipart/report
// A person forwarding a bounce matches none of these: the report parts sit inside the message they
// forward (structure.ts), their From is theirs, and the subject starts with "Fwd:".
import { header, type ParsedMessage } from "../parse.ts";
import { deliveryOutcome, deliveryReports, type DeliveryOutcome } from "./delivery-status.ts";
import { nullReturnPath, senderKind } from "./senders.ts";
import { sesNotice } from "./ses.ts";
import { isBounceSubject, isDelaySubject } from "./subjects.ts";

export interface BounceVerdict {
  signal: string;
  delivery: DeliveryOutcome;
}

export function detectBounce(message: ParsedMessage): BounceVerdict | undefined {
  const delaySubject = isDelaySubject(message.subject);
  const fromSubject: DeliveryOutcome = delaySubject ? "delayed" : "failed";
  const verdict = (signal: string, delivery: DeliveryOutcome = fromSubject): BounceVerdict => ({ signal, delivery });

  const dsn = deliveryReports(message.reports);
  if (dsn.length > 0) {
    return verdict(message.reportType === "delivery-status" ? "delivery_status_report" : "delivery_status_part", deliveryOutcome(dsn) ?? fromSubject);
  }
  if (message.contentType === "multipart/report") {
    if (message.reportType === "delivery-status") return verdict("delivery_status_report");
    if (message.reportType === undefined && message.reports.length === 0) return verdict("report_without_type");
  }
  if (message.headers.has("x-failed-recipients")) return verdict("x_failed_recipients");
  if (message.headers.has("x-ms-exchange-message-is-ndr")) return verdict("exchange_ndr");
  if (message.headers.has("x-mddsn-message")) return verdict("mdaemon_dsn");
  const sender = senderKind(message);
  if (sender?.kind === "daemon") return verdict(sender.evidence);
  const ses = sesNotice(message.text);
  if (ses === "bounce") return verdict("ses_notification", "failed");
  if (ses === "delay") return verdict("ses_notification", "delayed");

  if (!delaySubject && !isBounceSubject(message.subject)) return undefined;
  const subject = delaySubject ? "delay_subject" : "bounce_subject";
  const support = supportingSignal(message, sender?.kind === "postmaster");
  return support ? verdict(`${subject}+${support}`) : undefined;
}

/** The second signal a bounce or delay subject needs. */
function supportingSignal(message: ParsedMessage, postmaster: boolean): string | undefined {
  if (postmaster) return "postmaster";
  if (nullReturnPath(message)) return "null_return_path";
  if (message.headers.has("x-mailer-daemon")) return "x_mailer_daemon";
  const autoSubmitted = header(message, "auto-submitted")?.trim().toLowerCase();
  if (autoSubmitted && !autoSubmitted.startsWith("no")) return "auto_submitted";
  if (message.contentType === "multipart/report") return "report";
  return undefined;
}
