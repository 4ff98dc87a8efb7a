// What the read API reads, always within one tenant: every statement names the tenant the token
// belongs to, so no id or number of another tenant's row reaches anything.
import type { Queryable } from "../store/db.ts";
import { EVENT_COLUMNS, EVENT_SOURCES, renderEvent, type EventPayload, type EventRow, type RenderOptions } from "../delivery/payload.ts";

export type TicketStatus = "open" | "pending" | "closed";

export interface TicketSummary {
  number: number;
  subject: string;
  status: TicketStatus;
  requester: { email: string; name: string | null } | null;
  mailboxId: string | null;
  suspicious: boolean;
  createdAt: string;
  updatedAt: string;
}

const iso = (v: Date | string) => new Date(v).toISOString();

interface TicketRow {
  id: number;
  number: number;
  subject: string;
  status: TicketStatus;
  email: string | null;
  name: string | null;
  mailbox_provider_id: string | null;
  suspicious: boolean;
  created_at: Date;
  updated_at: Date;
}

const summary = (r: TicketRow): TicketSummary => ({
  number: r.number,
  subject: r.subject,
  status: r.status,
  requester: r.email ? { email: r.email, name: r.name } : null,
  mailboxId: r.mailbox_provider_id,
  suspicious: r.suspicious,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const TICKET_COLUMNS = "t.id, t.number, t.subject, t.status, c.email, c.name, t.mailbox_provider_id, t.suspicious, t.created_at, t.updated_at";

/** Tickets by number after `afterNumber`, updated at or after `since`, of one status. */
export async function listTickets(db: Queryable, tenantId: string, o: { since?: Date; status?: TicketStatus; afterNumber: number; limit: number }): Promise<{ tickets: TicketSummary[]; last: number | undefined; more: boolean }> {
  const rows = await db.query<TicketRow>(
    `SELECT ${TICKET_COLUMNS} FROM tickets t LEFT JOIN contacts c ON c.id = t.requester_id
      WHERE t.tenant_id = $1 AND t.number > $2 AND ($3::timestamptz IS NULL OR t.updated_at >= $3) AND ($4::text IS NULL OR t.status = $4)
      ORDER BY t.number LIMIT $5`,
    [tenantId, o.afterNumber, o.since ?? null, o.status ?? null, o.limit + 1],
  );
  const page = rows.slice(0, o.limit);
  return { tickets: page.map(summary), last: page.at(-1)?.number, more: rows.length > o.limit };
}

export interface DocumentMeta {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  inline: boolean;
  commentId: string | null;
}

export interface TicketDetail extends TicketSummary {
  description: { text: string; replyText: string; html: string | null };
  comments: { id: string; internal: boolean; author: { email: string; name: string | null } | null; text: string; replyText: string; html: string | null; suspicious: boolean; createdAt: string }[];
  documents: DocumentMeta[];
}

export async function getTicket(db: Queryable, tenantId: string, number: number): Promise<TicketDetail | undefined> {
  const [row] = await db.query<TicketRow & { description_text: string; description_full_text: string; description_html: string | null }>(
    `SELECT ${TICKET_COLUMNS}, t.description_text, t.description_full_text, t.description_html FROM tickets t LEFT JOIN contacts c ON c.id = t.requester_id WHERE t.tenant_id = $1 AND t.number = $2`,
    [tenantId, number],
  );
  if (!row) return undefined;
  const comments = await db.query<{ id: number; is_internal_note: boolean; email: string | null; name: string | null; body_text: string; full_text: string; body_html: string | null; suspicious: boolean; created_at: Date }>(
    "SELECT m.id, m.is_internal_note, c.email, c.name, m.body_text, m.full_text, m.body_html, m.suspicious, m.created_at FROM ticket_comments m LEFT JOIN contacts c ON c.id = m.author_id WHERE m.ticket_id = $1 ORDER BY m.id",
    [row.id],
  );
  const documents = await db.query<{ id: number; filename: string; content_type: string; size: number; sha256: string; inline: boolean; comment_id: number | null }>(
    "SELECT id, filename, content_type, size, sha256, inline, comment_id FROM documents WHERE ticket_id = $1 ORDER BY id",
    [row.id],
  );
  return {
    ...summary(row),
    description: { text: row.description_full_text, replyText: row.description_text, html: row.description_html },
    comments: comments.map((m) => ({ id: String(m.id), internal: m.is_internal_note, author: m.email ? { email: m.email, name: m.name } : null, text: m.full_text, replyText: m.body_text, html: m.body_html, suspicious: m.suspicious, createdAt: iso(m.created_at) })),
    documents: documents.map((d) => ({ id: String(d.id), filename: d.filename, contentType: d.content_type, size: d.size, sha256: d.sha256, inline: d.inline, commentId: d.comment_id === null ? null : String(d.comment_id) })),
  };
}

export async function documentMeta(db: Queryable, tenantId: string, id: number): Promise<DocumentMeta | undefined> {
  const [d] = await db.query<{ id: number; filename: string; content_type: string; size: number; sha256: string; inline: boolean; comment_id: number | null }>(
    "SELECT id, filename, content_type, size, sha256, inline, comment_id FROM documents WHERE id = $1 AND tenant_id = $2",
    [id, tenantId],
  );
  return d && { id: String(d.id), filename: d.filename, contentType: d.content_type, size: d.size, sha256: d.sha256, inline: d.inline, commentId: d.comment_id === null ? null : String(d.comment_id) };
}

/** Bytes [offset, offset + length) of a document (substring of the bytea, 1-based in SQL). */
export async function documentChunk(db: Queryable, tenantId: string, id: number, offset: number, length: number): Promise<Uint8Array> {
  const [row] = await db.query<{ chunk: Uint8Array }>("SELECT substring(content FROM $3 FOR $4) AS chunk FROM documents WHERE id = $1 AND tenant_id = $2", [id, tenantId, offset + 1, length]);
  return row ? new Uint8Array(row.chunk) : new Uint8Array();
}

/** A feed position: the event's transaction id and seq. */
export interface FeedCursor {
  txid: string;
  seq: number;
}

/** Events after `after`, in (transaction, seq) order, only of transactions older than every
 * transaction still running: an event that commits later always sorts after what was served. */
export async function listEvents(db: Queryable, tenantId: string, after: FeedCursor | undefined, limit: number, render: RenderOptions): Promise<{ events: EventPayload[]; last: FeedCursor | undefined; more: boolean }> {
  const rows = await db.query<EventRow & { txid: string }>(
    `SELECT e.txid::text AS txid, ${EVENT_COLUMNS} FROM ${EVENT_SOURCES}
      WHERE e.tenant_id = $1 AND (e.txid, e.seq) > ($2::xid8, $3::bigint) AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY e.txid, e.seq LIMIT $4`,
    [tenantId, after?.txid ?? "0", after?.seq ?? 0, limit + 1],
  );
  const page = rows.slice(0, limit);
  const events: EventPayload[] = [];
  for (const row of page) events.push(await renderEvent(db, row, render));
  const tail = page.at(-1);
  return { events, last: tail && { txid: String(tail.txid), seq: Number(tail.seq) }, more: rows.length > limit };
}
