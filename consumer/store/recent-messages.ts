// The newest processed messages, for the console: what each became (ticket, comment, note or a
// skip with its reason), its ticket's number, its class and whether its sender was suspicious.
// Ids, numbers and codes only: no subject, address or body.
import type { Queryable } from "./db.ts";

export interface RecentMessage {
  id: string;
  tenantId: string;
  provider: string;
  providerId: string | null;
  outcome: "ticket" | "comment" | "note" | "skipped";
  /** The skip reason, when skipped. */
  reason: string | null;
  /** What the classification made of it: normal, auto_reply, bounce, loop, bulk_mail, … */
  classification: string;
  ticketNumber: string | null;
  suspicious: boolean;
  suspiciousReason: string | null;
  at: string;
}

const RECENT = `
  SELECT m.id, m.tenant_id, m.provider, m.provider_id, m.status, m.reason, m.created_at, t.number AS ticket_number,
         COALESCE(c.suspicious, t.suspicious, false) AS suspicious, COALESCE(c.suspicious_reason, t.suspicious_reason) AS suspicious_reason
  FROM email_processed_messages m
  LEFT JOIN tickets t ON t.id = m.ticket_id
  LEFT JOIN ticket_comments c ON c.id = m.comment_id
  ORDER BY m.id DESC LIMIT $1`;

interface Row {
  id: string | number;
  tenant_id: string;
  provider: string;
  provider_id: string | null;
  status: RecentMessage["outcome"];
  reason: string | null;
  created_at: Date | string;
  ticket_number: string | number | null;
  suspicious: boolean;
  suspicious_reason: string | null;
}

/** An out-of-office on a live ticket becomes a note; a skip names its class; the rest is normal mail. */
function classOf(row: Row): string {
  if (row.status === "note") return "auto_reply";
  if (row.status === "skipped") return row.reason ?? "skipped";
  return "normal";
}

export async function recentMessages(db: Queryable, limit = 50): Promise<RecentMessage[]> {
  const rows = await db.query<Row>(RECENT, [limit]);
  return rows.map((r) => ({
    id: String(r.id),
    tenantId: r.tenant_id,
    provider: r.provider,
    providerId: r.provider_id,
    outcome: r.status,
    reason: r.reason,
    classification: classOf(r),
    ticketNumber: r.ticket_number === null ? null : String(r.ticket_number),
    suspicious: r.suspicious,
    suspiciousReason: r.suspicious_reason,
    at: new Date(r.created_at).toISOString(),
  }));
}
