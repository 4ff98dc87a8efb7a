// The one interface between the consumer runtime (claim loop + resolvers) and processing.
// A resolver turns a queue pointer into zero or more ResolvedMessages (Gmail history can yield
// several); processing applies each exactly once and says what happened.
import type { ProviderKind } from "./mailbox.ts";

export interface ResolvedMessage {
  provider: ProviderKind;
  tenantId: string;
  /** The mailbox provider row (connected mailbox) this message belongs to. */
  providerId: string;
  /** The provider's own identity for the message: Graph immutable id, Gmail message id,
   * or `<uidValidity>:<uid>` for IMAP. Used when the RFC Message-ID is missing or insane. */
  providerMessageId: string;
  /** The exact RFC 5322 bytes as fetched from the provider (empty when `oversizedBytes` is set). */
  raw: Uint8Array;
  /** Set instead of `raw` when the message is larger than the limit: it was not downloaded (at
   * least this many bytes, as the provider declared them or as counted before the download was
   * abandoned). Processing records it as skipped, `message_too_large`. */
  oversizedBytes?: number;
}

export type ProcessOutcome =
  | {
      outcome: "processed";
      /** What the message became. */
      effect: "ticket" | "comment" | "note" | "duplicate";
      ticketId?: string;
      commentId?: string;
    }
  | { outcome: "skipped"; reason: string };

export interface MessageProcessor {
  process(message: ResolvedMessage, signal?: AbortSignal): Promise<ProcessOutcome>;
}
