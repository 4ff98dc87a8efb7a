// The one interface between the consumer runtime (claim loop + resolvers) and processing.
// A resolver turns a queue pointer into zero or more ResolvedMessages (Gmail history can yield
// several); processing applies each exactly once and says what happened.

export type ProviderKind = "microsoft" | "google" | "imap";

export interface ResolvedMessage {
  provider: ProviderKind;
  tenantId: string;
  /** The mailbox provider row (connected mailbox) this message belongs to. */
  providerId: string;
  /** The provider's own identity for the message: Graph immutable id, Gmail message id,
   * or `<uidValidity>:<uid>` for IMAP. Used when the RFC Message-ID is missing or insane. */
  providerMessageId: string;
  /** The exact RFC 5322 bytes as fetched from the provider. */
  raw: Uint8Array;
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

// What the consumer knows about a connected mailbox ("mailbox provider" row). The store
// implements MailboxDirectory over PostgreSQL / PGlite; resolvers only read credentials and
// move cursors through it.

export interface MicrosoftCredentials {
  type: "microsoft";
  /** Azure AD (Entra) tenant of the customer's Microsoft 365. */
  azureTenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface GoogleCredentials {
  type: "google";
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export interface ImapCredentials {
  type: "imap";
  host: string;
  port: number;
  secure: boolean;
  user: string;
  password?: string;
  accessToken?: string;
  /** Folder to watch and fetch from; default INBOX. */
  folder?: string;
}

export type MailboxCredentials = MicrosoftCredentials | GoogleCredentials | ImapCredentials;

export interface MailboxCursors {
  gmailHistoryId?: string;
  gmailWatchExpiration?: string;
  /** The Pub/Sub topic the Gmail watch publishes to (renewals reuse it). */
  gmailTopic?: string;
  imapUidValidity?: string;
  imapLastUid?: number;
  /** INTERNALDATE (ISO) of the newest message sent on, and the Message-IDs sent with exactly that
   * date: after a UIDVALIDITY change they tell what was already sent without trusting old UIDs. */
  imapLastInternalDate?: string;
  imapBoundaryMessageIds?: string[];
  graphSubscriptionId?: string;
  graphSubscriptionExpiresAt?: string;
  /** The random clientState the subscription was created with (the edge registry keeps only its hash). */
  graphClientState?: string;
  /** Set when a resolver found the mailbox out of sync (UIDVALIDITY change, Graph `missed`). */
  needsResync?: boolean;
}

export interface MailboxRecord {
  providerId: string;
  tenantId: string;
  kind: ProviderKind;
  /** The mailbox address (Graph user id / UPN, Gmail address, IMAP login address). */
  address: string;
  credentials: MailboxCredentials;
  cursors: MailboxCursors;
  /** Whether bulk and list mail opens tickets for this mailbox. */
  bulkMailOpensTickets: boolean;
}

export interface MailboxDirectory {
  get(providerId: string): Promise<MailboxRecord | undefined>;
  /** Merge the given cursor fields into the stored ones. */
  updateCursors(providerId: string, patch: MailboxCursors): Promise<void>;
}
