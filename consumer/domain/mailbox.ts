// A connected mailbox ("mailbox provider" row): who it belongs to, how to reach it, and where its
// cursors stand. The store implements MailboxDirectory over PostgreSQL / PGlite; resolvers only
// read credentials and move cursors through it.
import type { Provider } from "../../src/queue/job.ts";

export type ProviderKind = Provider;

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

export interface CredentialsByKind {
  microsoft: MicrosoftCredentials;
  google: GoogleCredentials;
  imap: ImapCredentials;
}

export type MailboxCredentials = CredentialsByKind[ProviderKind];

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
  /** Graph delta: the link the next sweep calls (a page of an unfinished round, or where the next
   * round starts). */
  graphDeltaLink?: string;
  /** When the mailbox was connected (ISO): its first delta round starts there, not at its history. */
  graphDeltaSince?: string;
  /** The last reconciliation sweep. */
  lastSweep?: SweepRecord;
}

export interface SweepRecord {
  at: string;
  /** Messages the sweep listed as new since the last one. */
  listed: number;
  /** Pointers it enqueued (new to the queue and not yet processed). */
  enqueued: number;
  /** Of those, mail old enough that a notification should have announced it: the mailbox's
   * notifications are failing when this is not 0. */
  found: number;
  /** Set when the sweep failed (an InletError code). */
  error?: string;
}

interface MailboxFields<K extends ProviderKind> {
  providerId: string;
  tenantId: string;
  kind: K;
  /** The mailbox address (Graph user id / UPN, Gmail address, IMAP login address). */
  address: string;
  credentials: CredentialsByKind[K];
  cursors: MailboxCursors;
  /** Whether bulk and list mail opens tickets for this mailbox. */
  bulkMailOpensTickets: boolean;
}

/** A mailbox of one provider: its `kind` says which credentials it holds. */
export type MailboxOf<K extends ProviderKind> = MailboxFields<K>;

export type MailboxRecord = { [K in ProviderKind]: MailboxFields<K> }[ProviderKind];

/** The mailbox as the given provider's, or undefined when it belongs to another. */
export function mailboxOfKind<K extends ProviderKind>(mailbox: MailboxRecord, kind: K): MailboxOf<K> | undefined {
  return mailbox.kind === kind ? (mailbox as MailboxOf<K>) : undefined;
}

export interface MailboxDirectory {
  get(providerId: string): Promise<MailboxRecord | undefined>;
  /** Merge the given cursor fields into the stored ones. */
  updateCursors(providerId: string, patch: MailboxCursors): Promise<void>;
}
