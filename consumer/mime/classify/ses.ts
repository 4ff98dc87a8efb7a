// Amazon SES notifications delivered by email (an SNS topic with an email subscription, or SES
// feedback forwarding to an SNS-style address): the body is the notification's JSON, optionally
// followed by SNS's unsubscribe footer. Its `notificationType` (SES notifications) or `eventType`
// (SES event publishing) says what happened: Bounce, Complaint, DeliveryDelay, Delivery, Send, …
// Only the shape decides, not the sender, so SNS-style relays through other addresses are read too;
// the shape (a JSON object whose type names a bounce, with the bounce's recipients) is not
// something a person writes.

export type SesNotice = "bounce" | "complaint" | "delay";

// Bodies longer than this are not a notification (SES limits a notification to 256 KB).
const MAX_JSON = 256 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function sesNotice(text: string): SesNotice | undefined {
  const start = text.search(/\S/);
  if (start < 0 || text[start] !== "{") return undefined;
  const end = text.lastIndexOf("}");
  if (end < start || end - start > MAX_JSON) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const type = value.notificationType ?? value.eventType;
  if (type === "Bounce" && isRecord(value.bounce) && Array.isArray(value.bounce.bouncedRecipients)) return "bounce";
  if (type === "Complaint" && isRecord(value.complaint) && Array.isArray(value.complaint.complainedRecipients)) return "complaint";
  if (type === "DeliveryDelay" && isRecord(value.deliveryDelay) && Array.isArray(value.deliveryDelay.delayedRecipients)) return "delay";
  return undefined;
}
