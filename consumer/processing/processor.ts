// Processing: a resolved message becomes exactly one ticket, comment or internal note, or a
// deterministic skip. Steps: the mailbox's settings (cached) → size limit → parse → classify →
// one SQL call that threads, decides, claims the identity and writes every effect (apply.ts). A crash
// before commit leaves nothing, so the redelivered message is applied again; after commit a
// redelivery finds the claim and reports the same outcome (`duplicate`, or the same skip reason).
import type { MessageProcessor, ProcessOutcome, ResolvedMessage } from "../domain/message.ts";
import { permanent } from "../domain/errors.ts";
import { MimeError } from "../mime/errors.ts";
import { DEFAULT_MAIL_OPTIONS, type MailOptions } from "../mime/options.ts";
import { understandMessage } from "../mime/understand.ts";
import { DEFAULT_LIMITS, type ProcessingLimits } from "../config.ts";
import type { Db } from "../store/db.ts";
import { databaseFailure, sqlState } from "../store/errors.ts";
import { applyMessage, type Applied, type ApplyInput } from "./apply.ts";
import { KnownSenders } from "./known-senders.ts";
import { droppedAttachmentsNote, splitAttachments } from "./attachments.ts";
import { messageIdentity } from "./identity.ts";
import { mailboxSettingsReader, type MailboxSettings } from "./mailbox-settings.ts";
import { DEFAULT_TICKET_TOKEN, threadKeys } from "./threading.ts";
import { summariseMessage, UNPARSED_MESSAGE } from "../delivery/message-summary.ts";

export { messageIdentity } from "./identity.ts";
export { DEFAULT_TICKET_TOKEN } from "./threading.ts";

export interface ProcessorOptions {
  db: Db;
  /** The configuration's limits (consumer/config.ts) where not given. */
  limits?: Partial<ProcessingLimits>;
  /** Finds a ticket number in a subject; the first capture group is the number. Default `[#123]`. */
  ticketTokenPattern?: RegExp;
  /** How long a mailbox's settings are cached (default 10 s; 0 reads them for every message). */
  settingsTtlMs?: number;
  /** The fallback charset for undeclared 8-bit header bytes, and the IMAP servers whose
   * Authentication-Results stamp is believed. */
  mail?: MailOptions;
  /** Called after a message queued webhook deliveries (committed): wakes the deliverer. */
  onDeliveriesQueued?: () => void;
}

const NOTHING = { subject: "", author: undefined, body: { text: "", fullText: "", html: null, messageId: null }, documents: [], note: undefined } as const;

export function createProcessor(options: ProcessorOptions): MessageProcessor {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const token = options.ticketTokenPattern ?? DEFAULT_TICKET_TOKEN;
  const { db } = options;
  const settingsOf = mailboxSettingsReader(db, options.settingsTtlMs ?? 10_000);

  const senders = new KnownSenders();

  /** Apply, naming the sender's contact when it is known; a contact deleted or merged away since
   * fails the foreign key, and the message is applied again the long way. */
  async function applyKnowingSender(input: ApplyInput): Promise<Applied> {
    const address = input.author?.address;
    const hasName = Boolean(input.author?.name);
    const known = address ? senders.get(input.tenantId, address) : undefined;
    // A contact without a name may learn one from this message: that takes the long way.
    const usable = known && (known.named || !hasName) ? known : undefined;
    let applied: Applied;
    try {
      applied = await applyMessage(db, usable ? { ...input, requesterId: usable.contactId } : input);
    } catch (error) {
      if (!usable || !isForeignKeyViolation(error)) throw error;
      senders.forget(input.tenantId, address!);
      applied = await applyMessage(db, input);
    }
    if (address && applied.claimed && applied.requesterId !== null) {
      senders.remember(input.tenantId, address, { contactId: applied.requesterId, named: usable ? usable.named : hasName });
    }
    return applied;
  }

  async function apply(input: ApplyInput): Promise<ProcessOutcome> {
    const applied = await applyKnowingSender(input);
    if (applied.deliveries > 0) options.onDeliveriesQueued?.();
    // A redelivery reports the same skip, or the effect it had as a duplicate.
    if (applied.status === "skipped") return { outcome: "skipped", reason: applied.reason ?? "skipped" };
    return {
      outcome: "processed",
      effect: applied.claimed ? applied.status : "duplicate",
      ...(applied.ticketId !== null ? { ticketId: String(applied.ticketId) } : {}),
      ...(applied.commentId !== null ? { commentId: String(applied.commentId) } : {}),
    };
  }

  /** The parse, classification and sender check; mail the parser refuses can never be applied. */
  async function understand(raw: Uint8Array, settings: MailboxSettings) {
    try {
      return await understandMessage(raw, { ownAddresses: settings.ownAddresses, provider: settings.kind, options: options.mail ?? DEFAULT_MAIL_OPTIONS });
    } catch (error) {
      if (error instanceof MimeError) throw permanent(error.code, error.message, { cause: error });
      throw error;
    }
  }

  async function processMessage(message: ResolvedMessage): Promise<ProcessOutcome> {
    const settings = await settingsOf(message.providerId);
    // The mailbox was disconnected after the notification: nothing to apply it to.
    if (!settings) return { outcome: "skipped", reason: "provider_not_found" };
    if (settings.tenantId !== message.tenantId || settings.kind !== message.provider) {
      throw permanent("provider_mismatch", `message names tenant ${message.tenantId} / ${message.provider}, the provider row says ${settings.tenantId} / ${settings.kind}`);
    }
    const base = { tenantId: message.tenantId, provider: message.provider, providerId: message.providerId, providerMessageId: message.providerMessageId };

    if (message.oversizedBytes !== undefined || message.raw.byteLength > limits.maxMessageBytes) {
      // Not parsed, so keyed on the provider's id: the same skip for every redelivery.
      const thread = { messageIds: [], ticketNumber: undefined };
      return apply({ ...base, ...NOTHING, identity: messageIdentity(undefined, message), thread, summary: UNPARSED_MESSAGE, classification: "message_too_large", skipReason: undefined, suspicious: false, suspiciousReason: undefined, bulk: false, bulkOpensTickets: settings.bulkMailOpensTickets });
    }

    const { parsed, verdict, sender, replyText } = await understand(message.raw, settings);
    const { kept, dropped } = splitAttachments(parsed.attachments, limits.maxAttachmentBytes);
    return apply({
      ...base,
      identity: messageIdentity(parsed.messageId, message),
      thread: threadKeys(parsed, token),
      classification: verdict.classification,
      summary: summariseMessage(parsed, verdict.classification, sender),
      skipReason: verdict.skipReason,
      bulk: verdict.bulk,
      bulkOpensTickets: settings.bulkMailOpensTickets,
      suspicious: sender.suspicious,
      suspiciousReason: sender.reason,
      subject: parsed.subject.slice(0, 998) || "(no subject)",
      author: parsed.from,
      body: { text: replyText, fullText: parsed.text, html: parsed.html ?? null, messageId: parsed.messageId ?? null },
      documents: kept,
      note: droppedAttachmentsNote(dropped, limits.maxAttachmentBytes),
    });
  }

  return {
    // A database failure leaves as an InletError that says whether a retry can help, and why.
    process: (message) => processMessage(message).catch((error: unknown) => Promise.reject(databaseFailure(error) ?? error)),
  };
}

function isForeignKeyViolation(error: unknown): boolean {
  return sqlState(error) === "23503";
}
