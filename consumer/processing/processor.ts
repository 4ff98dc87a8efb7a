// Processing: a resolved message becomes exactly one ticket, comment or internal note, or a
// deterministic skip. Everything it writes, and the email_processed_messages row that stands for
// it, is one transaction: a retry after a crash either redoes the work (no row) or sees it done.
import { createHash } from "node:crypto";
import type { MailboxDirectory, MessageProcessor, ProcessOutcome, ResolvedMessage } from "../runtime/handler.ts";
import { classify, type ClassifyResult } from "../mime/classify.ts";
import { parseMessage, type ParsedAttachment, type ParsedMessage } from "../mime/parse.ts";
import { stripQuotedReply } from "../mime/quoted-reply.ts";
import type { Db, Queryable } from "../store/db.ts";

export interface ProcessingLimits {
  /** Larger messages are skipped with `message_too_large` (default 25 MB). */
  maxMessageBytes: number;
  /** Larger attachments are dropped and named in an internal note (default 10 MB). */
  maxAttachmentBytes: number;
}

export interface ProcessorOptions {
  db: Db;
  directory: MailboxDirectory;
  limits?: Partial<ProcessingLimits>;
  /** Finds a ticket number in a subject; the first capture group is the number. */
  ticketToken?: RegExp;
}

export const DEFAULT_LIMITS: ProcessingLimits = { maxMessageBytes: 25 * 1024 * 1024, maxAttachmentBytes: 10 * 1024 * 1024 };
export const DEFAULT_TICKET_TOKEN = /\[#(\d{1,12})\]/;

interface Ticket {
  id: number;
  number: number;
  status: "open" | "pending" | "closed";
}

type Effect = { status: "ticket" | "comment" | "note"; ticketId: number; commentId?: number } | { status: "skipped"; reason: string; ticketId?: number };

export function messageIdentity(parsed: ParsedMessage | undefined, message: ResolvedMessage): string {
  // The RFC Message-ID, when sane, is the same whichever provider or notification brought the
  // mail: keyed on it, a message arriving through two paths is applied once.
  return parsed?.messageId ?? `${message.provider}:${message.providerMessageId}`;
}

export function createProcessor(options: ProcessorOptions): MessageProcessor {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const token = options.ticketToken ?? DEFAULT_TICKET_TOKEN;
  const { db } = options;

  return {
    async process(message: ResolvedMessage): Promise<ProcessOutcome> {
      if (message.raw.byteLength > limits.maxMessageBytes) {
        return record(db, message, messageIdentity(undefined, message), async () => ({ status: "skipped", reason: "message_too_large" }));
      }
      const parsed = await parseMessage(message.raw);
      const mailbox = await options.directory.get(message.providerId);
      const verdict = classify(parsed, mailbox ? [mailbox.address] : []);
      const bulkOpens = mailbox?.bulkMailOpensTickets ?? false;
      return record(db, message, messageIdentity(parsed, message), (tx) => apply(tx, message, parsed, verdict, { bulkOpens, token, limits }));
    },
  };
}

/** Claim the identity, apply the effect, and record it — or, if the identity is taken, report it. */
async function record(db: Db, message: ResolvedMessage, identity: string, effect: (tx: Queryable) => Promise<Effect>): Promise<ProcessOutcome> {
  return db.transaction(async (tx) => {
    const [claimed] = await tx.query<{ id: number }>(
      `INSERT INTO email_processed_messages (tenant_id, identity, provider, provider_id, provider_message_id, status)
       VALUES ($1, $2, $3, $4, $5, 'skipped') ON CONFLICT (tenant_id, identity) DO NOTHING RETURNING id`,
      [message.tenantId, identity, message.provider, message.providerId, message.providerMessageId],
    );
    if (!claimed) {
      const [done] = await tx.query<{ status: string; reason: string | null; ticket_id: number | null }>("SELECT status, reason, ticket_id FROM email_processed_messages WHERE tenant_id = $1 AND identity = $2", [message.tenantId, identity]);
      if (done?.status === "skipped") return { outcome: "skipped", reason: done.reason ?? "skipped" };
      return { outcome: "processed", effect: "duplicate", ...(done?.ticket_id ? { ticketId: String(done.ticket_id) } : {}) };
    }
    const result = await effect(tx);
    await tx.query("UPDATE email_processed_messages SET status = $2, reason = $3, ticket_id = $4, comment_id = $5 WHERE id = $1", [
      claimed.id,
      result.status,
      result.status === "skipped" ? result.reason : null,
      result.ticketId ?? null,
      "commentId" in result ? (result.commentId ?? null) : null,
    ]);
    if (result.status === "skipped") return { outcome: "skipped", reason: result.reason };
    return { outcome: "processed", effect: result.status, ticketId: String(result.ticketId), ...("commentId" in result && result.commentId ? { commentId: String(result.commentId) } : {}) };
  });
}

async function apply(
  tx: Queryable,
  message: ResolvedMessage,
  parsed: ParsedMessage,
  verdict: ClassifyResult,
  settings: { bulkOpens: boolean; token: RegExp; limits: ProcessingLimits },
): Promise<Effect> {
  if (verdict.classification === "loop" || verdict.classification === "bounce") return { status: "skipped", reason: verdict.classification };
  const ticket = await findTicket(tx, message.tenantId, parsed, settings.token);
  if (verdict.classification === "auto_reply") {
    // An out-of-office answer to an open ticket is worth a note for the agent; it never reopens.
    if (!ticket || ticket.status === "closed") return { status: "skipped", reason: "auto_reply" };
    const commentId = await addComment(tx, message, parsed, ticket.id, { internal: true });
    return { status: "note", ticketId: ticket.id, commentId };
  }
  if (verdict.bulk && !settings.bulkOpens && !ticket) return { status: "skipped", reason: "bulk_mail" };

  const { kept, dropped } = splitAttachments(parsed.attachments, settings.limits.maxAttachmentBytes);
  let effect: Effect;
  if (ticket) {
    const commentId = await addComment(tx, message, parsed, ticket.id, { internal: false });
    if (ticket.status !== "open") await tx.query("UPDATE tickets SET status = 'open', updated_at = now() WHERE id = $1", [ticket.id]);
    else await tx.query("UPDATE tickets SET updated_at = now() WHERE id = $1", [ticket.id]);
    await storeDocuments(tx, message.tenantId, ticket.id, commentId, kept);
    effect = { status: "comment", ticketId: ticket.id, commentId };
  } else {
    const ticketId = await createTicket(tx, message, parsed);
    await storeDocuments(tx, message.tenantId, ticketId, null, kept);
    effect = { status: "ticket", ticketId };
  }
  if (dropped.length > 0) {
    const note = `Attachments not stored (over ${formatBytes(settings.limits.maxAttachmentBytes)} each): ${dropped.map((a) => `${a.filename} (${formatBytes(a.size)})`).join(", ")}`;
    await tx.query("INSERT INTO ticket_comments (ticket_id, body_text, full_text, is_internal_note) VALUES ($1, $2, $2, true)", [effect.ticketId, note]);
  }
  await rememberMessageIds(tx, message.tenantId, effect.ticketId, parsed);
  return effect;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1).replace(/\.0$/, "")} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1).replace(/\.0$/, "")} KB`;
  return `${n} bytes`;
}

/** In-Reply-To first, then References (newest first), then the subject token. */
async function findTicket(tx: Queryable, tenantId: string, parsed: ParsedMessage, token: RegExp): Promise<Ticket | undefined> {
  const candidates = [parsed.inReplyTo, ...[...parsed.references].reverse(), parsed.messageId].filter((id): id is string => !!id);
  if (candidates.length > 0) {
    const rows = await tx.query<{ message_id: string; id: number; number: number; status: Ticket["status"] }>(
      "SELECT m.message_id, t.id, t.number, t.status FROM ticket_message_ids m JOIN tickets t ON t.id = m.ticket_id WHERE m.tenant_id = $1 AND m.message_id = ANY($2::text[])",
      [tenantId, candidates],
    );
    for (const id of candidates) {
      const row = rows.find((r) => r.message_id === id);
      if (row) return { id: row.id, number: row.number, status: row.status };
    }
  }
  const number = token.exec(parsed.subject)?.[1];
  if (number) {
    const [row] = await tx.query<Ticket>("SELECT id, number, status FROM tickets WHERE tenant_id = $1 AND number = $2", [tenantId, Number(number)]);
    if (row) return row;
  }
  return undefined;
}

async function contactFor(tx: Queryable, tenantId: string, parsed: ParsedMessage): Promise<number | null> {
  if (!parsed.from) return null;
  const [row] = await tx.query<{ id: number }>(
    "INSERT INTO contacts (tenant_id, email, name) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, email) DO UPDATE SET name = COALESCE(NULLIF(EXCLUDED.name, ''), contacts.name) RETURNING id",
    [tenantId, parsed.from.address, parsed.from.name || null],
  );
  return row?.id ?? null;
}

async function createTicket(tx: Queryable, message: ResolvedMessage, parsed: ParsedMessage): Promise<number> {
  const requester = await contactFor(tx, message.tenantId, parsed);
  // The counter row is locked until commit: ticket numbers are per tenant, gapless and unique.
  const [counter] = await tx.query<{ last_number: number }>(
    "INSERT INTO ticket_counters (tenant_id, last_number) VALUES ($1, 1) ON CONFLICT (tenant_id) DO UPDATE SET last_number = ticket_counters.last_number + 1 RETURNING last_number",
    [message.tenantId],
  );
  const [ticket] = await tx.query<{ id: number }>(
    `INSERT INTO tickets (tenant_id, number, subject, requester_id, mailbox_provider_id, message_id, description_text, description_full_text, description_html)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [message.tenantId, counter!.last_number, parsed.subject.slice(0, 998) || "(no subject)", requester, message.providerId, parsed.messageId ?? null, stripQuotedReply(parsed.text), parsed.text, parsed.html ?? null],
  );
  return ticket!.id;
}

async function addComment(tx: Queryable, message: ResolvedMessage, parsed: ParsedMessage, ticketId: number, options: { internal: boolean }): Promise<number> {
  const author = await contactFor(tx, message.tenantId, parsed);
  const [comment] = await tx.query<{ id: number }>(
    "INSERT INTO ticket_comments (ticket_id, author_id, body_text, full_text, body_html, is_internal_note, message_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    [ticketId, author, stripQuotedReply(parsed.text), parsed.text, parsed.html ?? null, options.internal, parsed.messageId ?? null],
  );
  return comment!.id;
}

function splitAttachments(attachments: ParsedAttachment[], max: number): { kept: ParsedAttachment[]; dropped: ParsedAttachment[] } {
  return { kept: attachments.filter((a) => a.size <= max), dropped: attachments.filter((a) => a.size > max) };
}

async function storeDocuments(tx: Queryable, tenantId: string, ticketId: number, commentId: number | null, attachments: ParsedAttachment[]): Promise<void> {
  for (const a of attachments) {
    await tx.query(
      "INSERT INTO documents (tenant_id, ticket_id, comment_id, filename, content_type, size, sha256, content, content_id, inline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      [tenantId, ticketId, commentId, a.filename, a.contentType, a.size, createHash("sha256").update(a.content).digest("hex"), a.content, a.contentId ?? null, a.inline],
    );
  }
}

/** The message's own id, and the ids it references, now point at its ticket (for later replies,
 * and for earlier messages of the conversation that arrive late). */
async function rememberMessageIds(tx: Queryable, tenantId: string, ticketId: number, parsed: ParsedMessage): Promise<void> {
  const entries: [string, string][] = [];
  if (parsed.messageId) entries.push([parsed.messageId, "received"]);
  for (const id of new Set([...(parsed.inReplyTo ? [parsed.inReplyTo] : []), ...parsed.references])) if (id !== parsed.messageId) entries.push([id, "referenced"]);
  for (const [id, direction] of entries) {
    await tx.query("INSERT INTO ticket_message_ids (tenant_id, message_id, ticket_id, direction) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, message_id) DO NOTHING", [tenantId, id, ticketId, direction]);
  }
}
