// The event payload (version 1), as webhooks carry it and GET /v1/events lists it; its JSON
// Schema is docs/webhook-event.schema.json. Rendered from the event row (written by
// apply_message() with the message's headers and the ticket's status at that moment) and the
// ticket, comment and document rows it names, all of which stay as they were: every retry of an
// event sends the same body.
import type { Queryable } from "../store/db.ts";
import type { EventType } from "./event-types.ts";
import type { MessageSummary } from "./message-summary.ts";

export interface EventDocument {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  /** GET /v1/documents/{id} on the consumer's HTTP server (bearer token of the tenant). */
  url: string;
  /** The bytes, base64, when the document is at most INLET_WEBHOOK_INLINE_MAX_BYTES. */
  content?: string;
}

export interface EventPayload {
  type: EventType;
  id: string;
  timestamp: string;
  version: 1;
  data: {
    tenantId: string;
    mailbox: { id: string; provider: string | null; address: string | null } | null;
    ticket: { number: number; subject: string; status: string } | null;
    comment?: { id: string; internal: boolean };
    /** Why the message was skipped (message.skipped only). */
    reason?: string;
    message: Omit<MessageSummary, "suspiciousReason"> & { suspiciousReason: string | null; text: string | null; html: string | null; replyText: string | null };
    documents: EventDocument[];
  };
}

export interface RenderOptions {
  /** Base of document URLs, e.g. https://inlet.example.com (no trailing slash). */
  publicUrl: string;
  /** Documents up to this size carry their bytes; 0 never. */
  inlineMaxBytes: number;
}

export const EVENT_ROW_SQL = `SELECT e.seq, e.id, e.type, e.tenant_id, e.mailbox_provider_id, e.ticket_id, e.ticket_number, e.ticket_status, e.comment_id, e.reason, e.message, e.created_at,
       mp.kind AS mailbox_kind, mp.address AS mailbox_address,
       t.subject AS ticket_subject, t.description_text, t.description_full_text, t.description_html,
       c.body_text, c.full_text, c.body_html, c.is_internal_note
  FROM delivery_events e
  LEFT JOIN mailbox_providers mp ON mp.id = e.mailbox_provider_id
  LEFT JOIN tickets t ON t.id = e.ticket_id
  LEFT JOIN ticket_comments c ON c.id = e.comment_id`;

const DOCUMENTS_SQL = `SELECT id, filename, content_type, size, sha256, CASE WHEN size <= $3 THEN content END AS content
  FROM documents WHERE ticket_id = $1 AND comment_id IS NOT DISTINCT FROM $2 ORDER BY id`;

export interface EventRow {
  seq: number;
  id: string;
  type: EventType;
  tenant_id: string;
  mailbox_provider_id: string | null;
  ticket_id: number | null;
  ticket_number: number | null;
  ticket_status: string | null;
  comment_id: number | null;
  reason: string | null;
  message: MessageSummary | string;
  created_at: Date | string;
  mailbox_kind: string | null;
  mailbox_address: string | null;
  ticket_subject: string | null;
  description_text: string | null;
  description_full_text: string | null;
  description_html: string | null;
  body_text: string | null;
  full_text: string | null;
  body_html: string | null;
  is_internal_note: boolean | null;
}

export async function renderEvent(db: Queryable, row: EventRow, options: RenderOptions): Promise<EventPayload> {
  const summary = (typeof row.message === "string" ? JSON.parse(row.message) : row.message) as MessageSummary;
  const onComment = row.comment_id !== null;
  const bodies = onComment
    ? { text: row.full_text, html: row.body_html, replyText: row.body_text }
    : row.ticket_id !== null
      ? { text: row.description_full_text, html: row.description_html, replyText: row.description_text }
      : { text: null, html: null, replyText: null };
  const documents =
    row.ticket_id === null || row.type === "ticket.noted"
      ? []
      : (await db.query<{ id: number; filename: string; content_type: string; size: number; sha256: string; content: Uint8Array | null }>(DOCUMENTS_SQL, [row.ticket_id, row.comment_id, options.inlineMaxBytes])).map(
          (d): EventDocument => ({
            id: String(d.id),
            filename: d.filename,
            contentType: d.content_type,
            size: d.size,
            sha256: d.sha256,
            url: `${options.publicUrl}/v1/documents/${d.id}`,
            ...(d.content && options.inlineMaxBytes > 0 ? { content: Buffer.from(d.content).toString("base64") } : {}),
          }),
        );
  return {
    type: row.type,
    id: row.id,
    timestamp: new Date(row.created_at).toISOString(),
    version: 1,
    data: {
      tenantId: row.tenant_id,
      mailbox: row.mailbox_provider_id === null ? null : { id: row.mailbox_provider_id, provider: row.mailbox_kind, address: row.mailbox_address },
      ticket: row.ticket_number === null ? null : { number: row.ticket_number, subject: row.ticket_subject ?? "", status: row.ticket_status ?? "open" },
      ...(onComment ? { comment: { id: String(row.comment_id), internal: row.is_internal_note ?? false } } : {}),
      ...(row.type === "message.skipped" ? { reason: row.reason ?? "skipped" } : {}),
      message: { ...summary, suspiciousReason: summary.suspiciousReason ?? null, ...bodies },
      documents,
    },
  };
}

/** One event by its seq, rendered; undefined when it is gone (its ticket deleted). */
export async function renderEventBySeq(db: Queryable, seq: number, options: RenderOptions): Promise<EventPayload | undefined> {
  const [row] = await db.query<EventRow>(`${EVENT_ROW_SQL} WHERE e.seq = $1`, [seq], { prepare: true });
  return row ? renderEvent(db, row, options) : undefined;
}
