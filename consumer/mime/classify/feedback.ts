// Abuse and feedback reports (ARF, RFC 5965): a mailbox provider telling the sender that a
// recipient marked its mail as spam. Their own class: they open no ticket. Decided by
//   arf_report             multipart/report; report-type=feedback-report
//   feedback_report_part   a message/feedback-report part of this message under another report type
//   ses_complaint          an Amazon SES/SNS complaint notification (SES forwards ARF as JSON)
import type { ParsedMessage } from "../parse.ts";
import { sesNotice } from "./ses.ts";

export function detectFeedbackReport(message: ParsedMessage): string | undefined {
  if (message.contentType === "multipart/report" && message.reportType === "feedback-report") return "arf_report";
  if (message.reports.some((r) => r.contentType === "message/feedback-report")) return "feedback_report_part";
  if (sesNotice(message.text) === "complaint") return "ses_complaint";
  return undefined;
}
