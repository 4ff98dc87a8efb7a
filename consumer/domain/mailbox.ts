// A connected mailbox ("mailbox provider" row): who it belongs to, how to reach it, and where its
// cursors stand. The store implements MailboxDirectory over PostgreSQL / PGlite; resolvers only
// read credentials and move cursors through it.
import type { Job, Provider } from "../../src/queue/job.ts";

export type ProviderKind = Provider;

/** An Entra (Azure AD) app registration as one customer tenant knows it, with the app's own
 * credential: a client secret, or a certificate whose private key signs client assertions (the
 * form Microsoft recommends). */
export type MicrosoftApp = {
  /** The customer's Entra tenant (where the admin consented to the app). */
  azureTenantId: string;
  clientId: string;
} & ({ clientSecret: string; certificate?: undefined } | { certificate: MicrosoftCertificate; clientSecret?: undefined });

export interface MicrosoftCertificate {
  /** `x5t`: the base64url SHA-1 thumbprint of the certificate (its DER bytes), as registered on the app. */
  thumbprint: string;
  /** The certificate's private key, PKCS#8 PEM (RSA). */
  privateKey: string;
}

export type MicrosoftCredentials = { type: "microsoft" } & MicrosoftApp;

/** A Google service account with domain-wide delegation: it signs a JWT naming the mailbox it
 * acts for (JWT-bearer grant), no user consent per mailbox. */
export interface GoogleServiceAccount {
  clientEmail: string;
  privateKeyId: string;
  /** PKCS#8 PEM, from the account's JSON key. */
  privateKey: string;
}

/** How Inlet obtains Google access tokens for a mailbox: the user's refresh token (installed-app
 * consent), or a service account impersonating the mailbox. */
export type GoogleAuth =
  | { clientId: string; clientSecret: string; refreshToken: string; serviceAccount?: undefined }
  | { serviceAccount: GoogleServiceAccount; clientId?: undefined; clientSecret?: undefined; refreshToken?: undefined };

export type GoogleCredentials = { type: "google" } & GoogleAuth;

/** SASL XOAUTH2 for IMAP: where the access tokens come from (Outlook's IMAP with an Entra app,
 * Gmail's with a refresh token or a service account), refreshed before they expire. */
export type ImapOAuth = ({ provider: "microsoft" } & MicrosoftApp) | ({ provider: "google" } & GoogleAuth);

export interface ImapCredentials {
  type: "imap";
  host: string;
  port: number;
  secure: boolean;
  user: string;
  password?: string;
  /** A fixed OAuth2 access token (it is never refreshed: prefer `oauth`). */
  accessToken?: string;
  oauth?: ImapOAuth;
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
  /** Set when the provider refused the mailbox's credentials or consent (see MailboxAuthorisation). */
  authorisation?: MailboxAuthorisation;
}

/** A mailbox whose grant the provider withdrew (a revoked refresh token, consent taken back, a
 * refused login): its jobs are skipped as `source_unavailable:auth` and parked until it is
 * connected again. */
export interface MailboxAuthorisation {
  status: "needs_reauthorisation";
  /** The InletError code that said so. */
  reason: string;
  since: string;
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
  /** Record that the provider refused the mailbox's grant (`reason`: the error code); true when
   * this call changed the status (it was not marked already). */
  markNeedsReauthorisation(providerId: string, reason: string): Promise<boolean>;
  /** Keep a job skipped for a lost grant, to enqueue it again when the mailbox is connected again. */
  parkJob(providerId: string, job: Job): Promise<void>;
}
