// What a message is, before it may open a ticket (RFC 3834, RFC 3464, RFC 5965 and the headers
// real mailers set). The first rule that holds decides, and names itself in `signal`:
//   loop             mail from the helpdesk's own address, or carrying its X-Loop
//   feedback_report  an abuse/feedback report (classify/feedback.ts)
//   bounce           a delivery status notification: failure, delay or success, see `delivery`
//                    (classify/bounce.ts)
//   auto_reply       out-of-office, vacation, acknowledgement, read receipt (classify/auto-reply.ts)
//   normal           everything else, including a person forwarding any of the above
// `bulk` is independent: List-Id, List-Unsubscribe, or Precedence bulk/list/junk.
// `skipReason` is what processing records when the message opens no ticket and touches none.
import type { DeliveryOutcome } from "./classify/delivery-status.ts";
import { detectAutoReply } from "./classify/auto-reply.ts";
import { detectBounce } from "./classify/bounce.ts";
import { detectFeedbackReport } from "./classify/feedback.ts";
import { header, type ParsedMessage } from "./parse.ts";

export type Classification = "normal" | "auto_reply" | "bounce" | "loop" | "feedback_report";

/** Why a message is skipped: a loop, a failure notice, a delay notice, a success notice, a feedback report. */
export type SkipReason = "loop" | "bounce" | "delivery_delayed" | "delivery_report" | "feedback_report";

export interface ClassifyResult {
  classification: Classification;
  bulk: boolean;
  /** The rule that decided, for logs, skip reasons and `inlet parse`; undefined for normal mail. */
  signal: string | undefined;
  /** For a bounce: whether delivery failed, is still being retried, or succeeded. */
  delivery: DeliveryOutcome | undefined;
  /** Set when the message must neither open nor touch a ticket. */
  skipReason: SkipReason | undefined;
}

const SKIP_FOR_DELIVERY: Record<DeliveryOutcome, SkipReason> = { failed: "bounce", delayed: "delivery_delayed", delivered: "delivery_report" };

export function classify(message: ParsedMessage, ownAddresses: readonly string[]): ClassifyResult {
  const own = ownAddresses.map((a) => a.toLowerCase());
  const precedence = header(message, "precedence")?.trim().toLowerCase();
  const bulk = message.headers.has("list-id") || message.headers.has("list-unsubscribe") || precedence === "bulk" || precedence === "list" || precedence === "junk";
  const result = (classification: Classification, signal?: string, delivery?: DeliveryOutcome): ClassifyResult => ({
    classification,
    bulk,
    signal,
    delivery,
    skipReason: classification === "loop" ? "loop" : classification === "feedback_report" ? "feedback_report" : delivery ? SKIP_FOR_DELIVERY[delivery] : undefined,
  });

  // From, or Sender when From is unusable; not Reply-To, which anyone may point at the helpdesk.
  const from = message.fromSource === "reply-to" ? undefined : message.from?.address;
  if (from && own.includes(from)) return result("loop", "from_own_address");
  const xLoop = (message.headers.get("x-loop") ?? []).map((v) => v.toLowerCase());
  if (xLoop.some((v) => own.some((o) => v.includes(o)))) return result("loop", "x_loop");

  const feedback = detectFeedbackReport(message);
  if (feedback) return result("feedback_report", feedback);
  const bounce = detectBounce(message);
  if (bounce) return result("bounce", bounce.signal, bounce.delivery);
  const autoReply = detectAutoReply(message);
  if (autoReply) return result("auto_reply", autoReply);
  return result("normal");
}
