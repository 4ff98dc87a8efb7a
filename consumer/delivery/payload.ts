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

/** What renderEvent() reads of an event (`e`) and the rows it names. */
export const EVENT_COLUMNS = `e.seq, e.id, e.type, e.tenant_id, e.mailbox_provider_id, e.ticket_id, e.ticket_number, e.ticket_status, e.comment_id, e.reason, e.message, e.created_at,
       mp.kind AS mailbox_kind, mp.address AS mailbox_address,
       t.subject AS ticket_subject, t.description_text, t.description_full_text, t.description_html,
       c.body_text, c.full_text, c.body_html, c.is_internal_note,
       (SELECT COALESCE(json_agg(json_build_object('id', dd.id::text, 'filename', dd.filename, 'contentType', dd.content_type, 'size', dd.size, 'sha256', dd.sha256) ORDER BY dd.id), '[]'::json)
          FROM documents dd WHERE dd.ticket_id = e.ticket_id AND dd.comment_id IS NOT DISTINCT FROM e.comment_id AND e.type IN ('ticket.created', 'ticket.replied')) AS documents`;

/** delivery_events e and the rows its columns come from. */
export const EVENT_SOURCES = `delivery_events e
  LEFT JOIN mailbox_providers mp ON mp.id = e.mailbox_provider_id
  LEFT JOIN tickets t ON t.id = e.ticket_id
  LEFT JOIN ticket_comments c ON c.id = e.comment_id`;

export const EVENT_ROW_SQL = `SELECT ${EVENT_COLUMNS} FROM ${EVENT_SOURCES}`;

const INLINE_CONTENT_SQL = "SELECT id::text AS id, content FROM documents WHERE id = ANY ($1::bigint[])";

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
  documents: DocumentRow[] | string;
}

interface DocumentRow {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
}

export async function renderEvent(db: Queryable, row: EventRow, options: RenderOptions): Promise<EventPayload> {
  const summary = (typeof row.message === "string" ? JSON.parse(row.message) : row.message) as MessageSummary;
  const onComment = row.comment_id !== null;
  const bodies = onComment
    ? { text: row.full_text, html: row.body_html, replyText: row.body_text }
    : row.ticket_id !== null
      ? { text: row.description_full_text, html: row.description_html, replyText: row.description_text }
      : { text: null, html: null, replyText: null };
  const rows = (typeof row.documents === "string" ? JSON.parse(row.documents) : row.documents) as DocumentRow[];
  const small = options.inlineMaxBytes > 0 ? rows.filter((d) => d.size <= options.inlineMaxBytes).map((d) => d.id) : [];
  const inline = new Map(small.length === 0 ? [] : (await db.query<{ id: string; content: Uint8Array }>(INLINE_CONTENT_SQL, [small])).map((d) => [d.id, Buffer.from(d.content).toString("base64")]));
  const documents = rows.map(
    (d): EventDocument => ({ id: d.id, filename: d.filename, contentType: d.contentType, size: d.size, sha256: d.sha256, url: `${options.publicUrl}/v1/documents/${d.id}`, ...(inline.has(d.id) ? { content: inline.get(d.id)! } : {}) }),
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
