// Applying a message is ONE SQL statement, so it is one transaction and one round trip: find the
// thread, decide, claim the identity in email_processed_messages with the final outcome, and
// write everything the message becomes (contact, ticket with its per-tenant number or comment,
// the ticket's Message-IDs, documents, the note about dropped attachments). Every write hangs off
// the `claim` row: when the identity is already taken, the INSERT … ON CONFLICT DO NOTHING yields
// no row and nothing else is written. A concurrent statement holding the same identity makes the
// claim wait: if that one commits, this one writes nothing; if it rolls back, this one claims.
// The ticket and comment ids are drawn from their sequences up front because the claim row must
// carry them (a CTE cannot update a row another CTE of the same statement inserted).
// Ticket numbers come from the tenant's own sequence (migration 3): drawn only for a claimed new
// ticket, never waited for, never shared.
import { createHash } from "node:crypto";
import type { ParsedAttachment } from "../mime/parse.ts";
import type { ProcessOutcome } from "../domain/message.ts";
import type { ProviderKind } from "../domain/mailbox.ts";
import type { Queryable, SqlValue } from "../store/db.ts";
import type { ThreadKeys } from "./threading.ts";

export interface ApplyInput {
  tenantId: string;
  identity: string;
  provider: ProviderKind;
  providerId: string;
  providerMessageId: string;
  thread: ThreadKeys;
  /** Decided before the database is asked. */
  rule: {
    /** Skip whatever the thread (loop, bounce, message_too_large). */
    skipReason?: string;
    /** Auto-reply: an internal note on a live (open or pending) ticket, else skipped. */
    autoReply: boolean;
    /** Bulk mail the mailbox does not take: skipped unless it threads into a ticket. */
    bulkBlocked: boolean;
  };
  subject: string;
  author: { address: string; name: string } | undefined;
  body: { text: string; fullText: string; html: string | null; messageId: string | null };
  documents: readonly ParsedAttachment[];
  messageIds: readonly { id: string; direction: "received" | "referenced" }[];
  /** An internal note for the ticket (names dropped attachments). */
  note: string | undefined;
  /** The contact of `author`'s address, when already known (see known-senders.ts): the statement
   * then names it instead of looking it up, inserting it or learning its name. */
  requesterId?: number;
}

export type Applied =
  | { claimed: false }
  | { claimed: true; status: "ticket" | "comment" | "note" | "skipped"; reason: string | null; ticketId: number | null; commentId: number | null; requesterId: number | null };

/** Collects positional parameters while the statement is composed. */
class Params {
  readonly values: SqlValue[] = [];
  add(value: SqlValue): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export async function applyMessage(db: Queryable, input: ApplyInput): Promise<Applied> {
  const p = new Params();
  const tenant = p.add(input.tenantId);
  const ids = p.add(input.thread.messageIds);
  const skipReason = p.add(input.rule.skipReason ?? null);
  const autoReply = p.add(input.rule.autoReply);
  const providerId = p.add(input.providerId);
  // The body goes over the wire once, however many places use it: the ticket or the comment
  // (only one is written), and the full text only when stripping the quoted history changed it.
  const text = p.add(input.body.text);
  const fullText = input.body.fullText === input.body.text ? text : p.add(input.body.fullText);
  const html = p.add(input.body.html);
  const messageId = p.add(input.body.messageId);
  const ctes = [
    // The thread: the first key (In-Reply-To, References newest first, own id) that a ticket holds,
    // else the subject token's ticket.
    `found AS (
      SELECT t.id, t.status FROM (
          SELECT m.ticket_id, array_position(${ids}::text[], m.message_id) AS rank
            FROM ticket_message_ids m WHERE m.tenant_id = ${tenant} AND m.message_id = ANY(${ids}::text[])
          UNION ALL
          SELECT n.id, 2147483647 FROM tickets n WHERE n.tenant_id = ${tenant} AND n.number = ${p.add(input.thread.ticketNumber ?? null)}::bigint
        ) c JOIN tickets t ON t.id = c.ticket_id
      ORDER BY c.rank LIMIT 1)`,
    `decided AS (
      SELECT f.id AS found_id,
        CASE
          WHEN ${skipReason}::text IS NOT NULL THEN 'skipped'
          WHEN ${autoReply}::boolean THEN CASE WHEN f.id IS NULL OR f.status = 'closed' THEN 'skipped' ELSE 'note' END
          WHEN f.id IS NOT NULL THEN 'comment'
          WHEN ${p.add(input.rule.bulkBlocked)}::boolean THEN 'skipped'
          ELSE 'ticket'
        END AS status,
        CASE
          WHEN ${skipReason}::text IS NOT NULL THEN ${skipReason}::text
          WHEN ${autoReply}::boolean THEN 'auto_reply'
          ELSE 'bulk_mail'
        END AS reason
      FROM (SELECT 1) one LEFT JOIN found f ON true)`,
    `decision AS (
      SELECT status, CASE WHEN status = 'skipped' THEN reason END AS reason,
        CASE status WHEN 'ticket' THEN nextval('tickets_id_seq') WHEN 'skipped' THEN NULL ELSE found_id END AS ticket_id,
        CASE WHEN status IN ('comment', 'note') THEN nextval('ticket_comments_id_seq') END AS comment_id
      FROM decided)`,
    `claim AS (
      INSERT INTO email_processed_messages (tenant_id, identity, provider, provider_id, provider_message_id, status, reason, ticket_id, comment_id)
      SELECT ${tenant}, ${p.add(input.identity)}, ${p.add(input.provider)}, ${providerId}, ${p.add(input.providerMessageId)}, d.status, d.reason, d.ticket_id, d.comment_id
        FROM decision d
      ON CONFLICT (tenant_id, identity) DO NOTHING
      RETURNING status, reason, ticket_id, comment_id)`,
    ...(input.requesterId === undefined ? contactSteps(tenant, p.add(input.author?.address ?? null), p.add(input.author?.name || null)) : [`requester AS (SELECT ${p.add(input.requesterId)}::bigint AS id)`]),
    `ticket AS (
      INSERT INTO tickets (id, tenant_id, number, subject, requester_id, mailbox_provider_id, message_id, description_text, description_full_text, description_html)
      SELECT claim.ticket_id, ${tenant}, nextval(ticket_number_sequence(${tenant})::regclass), ${p.add(input.subject)}, (SELECT id FROM requester LIMIT 1), ${providerId},
             ${messageId}, ${text}, ${fullText}, ${html}
        FROM claim WHERE claim.status = 'ticket')`,
    `comment AS (
      INSERT INTO ticket_comments (id, ticket_id, author_id, body_text, full_text, body_html, is_internal_note, message_id)
      SELECT claim.comment_id, claim.ticket_id, (SELECT id FROM requester LIMIT 1), ${text}, ${fullText}, ${html},
             claim.status = 'note', ${messageId}
        FROM claim WHERE claim.status IN ('comment', 'note'))`,
    // A customer's reply reopens a pending or closed ticket; an out-of-office note leaves it be.
    `touch AS (
      UPDATE tickets SET status = 'open', updated_at = now() FROM claim WHERE tickets.id = claim.ticket_id AND claim.status = 'comment')`,
    // What a ticket or comment carries (an out-of-office note carries nothing).
    `owner AS (SELECT ticket_id, comment_id FROM claim WHERE status IN ('ticket', 'comment'))`,
  ];
  if (input.messageIds.length > 0) {
    ctes.push(`ids AS (
      INSERT INTO ticket_message_ids (tenant_id, message_id, ticket_id, direction)
      SELECT ${tenant}, u.id, owner.ticket_id, u.direction
        FROM owner, unnest(${p.add(input.messageIds.map((m) => m.id))}::text[], ${p.add(input.messageIds.map((m) => m.direction))}::text[]) AS u(id, direction)
      ON CONFLICT (tenant_id, message_id) DO NOTHING)`);
  }
  if (input.documents.length > 0) {
    const rows = input.documents.map(
      (d) =>
        `(${p.add(d.filename)}::text, ${p.add(d.contentType)}::text, ${p.add(d.size)}::integer, ${p.add(sha256(d.content))}::text, ${p.add(d.content)}::bytea, ${p.add(d.contentId ?? null)}::text, ${p.add(d.inline)}::boolean)`,
    );
    ctes.push(`docs AS (
      INSERT INTO documents (tenant_id, ticket_id, comment_id, filename, content_type, size, sha256, content, content_id, inline)
      SELECT ${tenant}, owner.ticket_id, owner.comment_id, v.filename, v.content_type, v.size, v.sha256, v.content, v.content_id, v.inline
        FROM owner, (VALUES ${rows.join(", ")}) AS v(filename, content_type, size, sha256, content, content_id, inline))`);
  }
  if (input.note) {
    const note = p.add(input.note);
    ctes.push(`note AS (
      INSERT INTO ticket_comments (ticket_id, body_text, full_text, is_internal_note) SELECT owner.ticket_id, ${note}, ${note}, true FROM owner)`);
  }
  const [row] = await db.query<{ status: "ticket" | "comment" | "note" | "skipped"; reason: string | null; ticket_id: number | null; comment_id: number | null; requester_id: number | null }>(
    `WITH ${ctes.join(",\n")}\nSELECT status, reason, ticket_id, comment_id, (SELECT id FROM requester LIMIT 1) AS requester_id FROM claim`,
    p.values,
    { prepare: true },
  );
  if (!row) return { claimed: false };
  return { claimed: true, status: row.status, reason: row.reason, ticketId: row.ticket_id, commentId: row.comment_id, requesterId: row.requester_id };
}

/** The sender as a contact. A known contact is read, not locked: only a new one is inserted (the
 * upsert then covers a concurrent first insert of the same address), and a name is written only
 * where none was known, so messages from one sender do not queue behind each other. */
function contactSteps(tenant: string, email: string, name: string): string[] {
  return [
    `known AS (SELECT id FROM contacts WHERE tenant_id = ${tenant} AND email = ${email}::text)`,
    `contact AS (
      INSERT INTO contacts (tenant_id, email, name)
      SELECT ${tenant}, ${email}::text, ${name}::text FROM claim WHERE claim.status <> 'skipped' AND ${email}::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM known)
      ON CONFLICT (tenant_id, email) DO UPDATE SET name = COALESCE(contacts.name, EXCLUDED.name)
      RETURNING id)`,
    `named AS (
      UPDATE contacts SET name = ${name}::text FROM claim
       WHERE contacts.id = (SELECT id FROM known) AND contacts.name IS NULL AND ${name}::text IS NOT NULL AND claim.status <> 'skipped')`,
    `requester AS (SELECT id FROM known UNION ALL SELECT id FROM contact)`,
  ];
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** What an earlier delivery of the same identity did, reported the same way again. */
export async function previousOutcome(db: Queryable, tenantId: string, identity: string): Promise<ProcessOutcome> {
  const [done] = await db.query<{ status: string; reason: string | null; ticket_id: number | null; comment_id: number | null }>(
    "SELECT status, reason, ticket_id, comment_id FROM email_processed_messages WHERE tenant_id = $1 AND identity = $2",
    [tenantId, identity],
  );
  if (done?.status === "skipped") return { outcome: "skipped", reason: done.reason ?? "skipped" };
  return {
    outcome: "processed",
    effect: "duplicate",
    ...(done?.ticket_id ? { ticketId: String(done.ticket_id) } : {}),
    ...(done?.comment_id ? { commentId: String(done.comment_id) } : {}),
  };
}
