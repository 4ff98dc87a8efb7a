// Applying a message is ONE call of apply_message() (migrations 4 and 6 in consumer/store/migrations.ts,
// where its steps are described), so it is one transaction and one round trip: it locks the
// thread's Message-IDs, finds the thread, decides what the message becomes, writes it and claims
// the identity in email_processed_messages. The statement below is constant: one prepared
// statement per connection, and it can be pasted into psql as it is. To change what a message
// becomes, add a migration that replaces the function (CREATE OR REPLACE with the same
// parameters; DROP and CREATE when they change, together with the statement here).
import { createHash } from "node:crypto";
import type { Classification, SkipReason } from "../mime/classify.ts";
import type { ParsedAttachment } from "../mime/parse.ts";
import type { ProviderKind } from "../domain/mailbox.ts";
import type { Queryable, SqlValue } from "../store/db.ts";
import type { ThreadKeys } from "./threading.ts";
import type { MessageSummary } from "../delivery/message-summary.ts";

export interface ApplyInput {
  tenantId: string;
  identity: string;
  provider: ProviderKind;
  providerId: string;
  providerMessageId: string;
  /** What the message is; `message_too_large` when it was too large to parse. apply_message()
   * makes the decision from this, the bulk flags and the thread it finds. */
  classification: Classification | "message_too_large";
  /** Why a skipped class is skipped, when more precise than the class (`delivery_delayed`). */
  skipReason: SkipReason | undefined;
  /** The receiving provider's sender check failed: marked, and threaded by Message-ID only. */
  suspicious: boolean;
  suspiciousReason: string | undefined;
  /** List or bulk mail. */
  bulk: boolean;
  /** The mailbox lets bulk mail open tickets. */
  bulkOpensTickets: boolean;
  thread: ThreadKeys;
  subject: string;
  author: { address: string; name: string } | undefined;
  body: { text: string; fullText: string; html: string | null; messageId: string | null };
  documents: readonly ParsedAttachment[];
  /** An internal note for the ticket (names dropped attachments). */
  note: string | undefined;
  /** The contact of `author`'s address, when already known (see known-senders.ts): the function
   * then names it instead of looking it up, inserting it or learning its name. */
  requesterId?: number;
  /** What the event announces of the message (headers, classification), kept in the event row. */
  summary: MessageSummary;
}

export type AppliedStatus = "ticket" | "comment" | "note" | "skipped";

/** What the message became; `claimed: false` when an earlier delivery of the same identity had
 * already applied it (what that one did is reported). `requesterId` is set only when claimed. */
export interface Applied {
  claimed: boolean;
  status: AppliedStatus;
  reason: string | null;
  ticketId: number | null;
  commentId: number | null;
  requesterId: number | null;
  /** Webhook deliveries the message queued (its event, once per endpoint that takes it). */
  deliveries: number;
}

export const APPLY_MESSAGE_SQL = `SELECT claimed, outcome, outcome_reason, ticket, comment, requester, deliveries FROM apply_message(
  p_tenant_id => $1, p_identity => $2, p_provider => $3, p_provider_id => $4, p_provider_message_id => $5,
  p_classification => $6, p_bulk => $7, p_bulk_opens_tickets => $8, p_thread_ids => $9, p_ticket_number => $10,
  p_message_id => $11, p_subject => $12, p_author_email => $13, p_author_name => $14, p_requester_id => $15,
  p_text => $16, p_full_text => $17, p_html => $18, p_note => $19,
  p_document_filenames => $20, p_document_content_types => $21, p_document_sizes => $22, p_document_sha256 => $23,
  p_document_content_ids => $24, p_document_inline => $25, p_document_contents => $26,
  p_skip_reason => $27, p_suspicious => $28, p_suspicious_reason => $29, p_event_message => $30)`;

interface Row {
  claimed: boolean;
  outcome: AppliedStatus;
  outcome_reason: string | null;
  ticket: number | null;
  comment: number | null;
  requester: number | null;
  deliveries: number;
}

export async function applyMessage(db: Queryable, input: ApplyInput): Promise<Applied> {
  const [row] = await db.query<Row>(APPLY_MESSAGE_SQL, parameters(input), { prepare: true });
  if (!row) throw new Error("apply_message returned no row");
  return { claimed: row.claimed, status: row.outcome, reason: row.outcome_reason, ticketId: row.ticket, commentId: row.comment, requesterId: row.requester, deliveries: row.deliveries };
}

/** $1…$30 of APPLY_MESSAGE_SQL, in order. Text goes without NUL characters, which PostgreSQL
 * cannot store in text (documents keep their bytes as they are). */
function parameters(input: ApplyInput): SqlValue[] {
  const { body, documents } = input;
  const text = storable(body.text);
  const fullText = storable(body.fullText);
  return [
    storable(input.tenantId),
    storable(input.identity),
    input.provider,
    storable(input.providerId),
    storable(input.providerMessageId),
    input.classification,
    input.bulk,
    input.bulkOpensTickets,
    input.thread.messageIds.map(storable),
    input.thread.ticketNumber ?? null,
    storableOrNull(body.messageId),
    storable(input.subject),
    storableOrNull(input.author?.address),
    (input.author && storable(input.author.name)) || null,
    input.requesterId ?? null,
    text,
    // The body goes over the wire once unless stripping the quoted history changed it.
    fullText === text ? null : fullText,
    storableOrNull(body.html),
    storableOrNull(input.note),
    documents.map((d) => storable(d.filename)),
    documents.map((d) => storable(d.contentType)),
    documents.map((d) => d.content.byteLength),
    documents.map((d) => createHash("sha256").update(d.content).digest("hex")),
    documents.map((d) => storableOrNull(d.contentId)),
    documents.map((d) => d.inline),
    documents.length === 0 ? null : Buffer.concat(documents.map((d) => d.content)),
    input.skipReason ?? null,
    input.suspicious,
    storableOrNull(input.suspiciousReason),
    // jsonb refuses NUL (\u0000) as text does
    JSON.stringify(input.summary, (_key, value: unknown) => (typeof value === "string" ? storable(value) : value)),
  ];
}

function storable(value: string): string {
  return value.includes("\0") ? value.replaceAll("\0", "") : value;
}

function storableOrNull(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : storable(value);
}
