// The event payload's schema (version 1), in zod; docs/webhook-event.schema.json is generated
// from it (`npm run build:webhook-schema`, a test fails when the file is stale) for receivers.
import { z } from "zod";
import { EVENT_TYPES } from "./event-types.ts";

const address = z.string().describe("a lower-cased e-mail address");

export const eventPayloadSchema = z
  .strictObject({
    type: z.enum(EVENT_TYPES),
    id: z.string().regex(/^evt_[0-9a-f]{32}$/).describe("the event's id, also sent as webhook-id: the same on every retry; deduplicate by it"),
    timestamp: z.iso.datetime().describe("when the effect was committed"),
    version: z.literal(1),
    data: z.strictObject({
      tenantId: z.string(),
      mailbox: z.strictObject({ id: z.string(), provider: z.enum(["microsoft", "google", "imap"]).nullable(), address: z.string().nullable() }).nullable(),
      ticket: z.strictObject({ number: z.number().int().positive(), subject: z.string(), status: z.enum(["open", "pending", "closed"]) }).nullable().describe("null for message.skipped"),
      comment: z.strictObject({ id: z.string(), internal: z.boolean() }).optional().describe("ticket.replied (a comment) and ticket.noted (an internal note)"),
      reason: z.string().optional().describe("message.skipped: why (loop, bounce, auto_reply, bulk_mail, …)"),
      message: z.strictObject({
        messageId: z.string().nullable(),
        from: z.strictObject({ address, name: z.string() }).nullable(),
        to: z.array(address),
        cc: z.array(address),
        replyTo: z.array(address),
        subject: z.string(),
        date: z.string().nullable().describe("the Date header as sent"),
        inReplyTo: z.string().nullable(),
        references: z.array(z.string()),
        text: z.string().nullable().describe("the whole text body"),
        html: z.string().nullable(),
        replyText: z.string().nullable().describe("the text without the history it quotes"),
        classification: z.enum(["normal", "auto_reply", "bounce", "loop", "feedback_report", "message_too_large"]),
        suspicious: z.boolean().describe("the receiving provider's sender check failed (DMARC, or SPF with no DKIM pass)"),
        suspiciousReason: z.string().nullable(),
      }),
      documents: z.array(
        z.strictObject({
          id: z.string(),
          filename: z.string(),
          contentType: z.string(),
          size: z.number().int().nonnegative(),
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
          url: z.string().describe("GET with the tenant's API token"),
          content: z.string().optional().describe("base64 of the bytes, for documents up to INLET_WEBHOOK_INLINE_MAX_BYTES"),
        }),
      ),
    }),
  })
  .describe("An Inlet event, as a webhook body and as an item of GET /v1/events");

export function eventPayloadJsonSchema(): Record<string, unknown> {
  return { $id: "https://inlet.dev/schemas/webhook-event-v1.json", title: "Inlet webhook event, version 1", ...z.toJSONSchema(eventPayloadSchema, { target: "draft-2020-12" }) };
}
