// Tenants and connected mailboxes ("mailbox providers"): the MailboxDirectory the resolvers use,
// and what the admin CLI needs to add, connect again, list and remove them.
// Credentials: every secret field is sealed under the key ring's primary key when a row is written
// and opened when it is read (consumer/secrets/); `env:NAME` references are stored as such and read
// from the environment when the row is used. Without a key ring, secrets are stored as given.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Job } from "../../src/queue/job.ts";
import { permanent } from "../domain/errors.ts";
import type { MailboxCredentials, MailboxCursors, MailboxDirectory, MailboxRecord, ProviderKind } from "../domain/mailbox.ts";
import { censusOf, openCredentials, sealCredentials } from "../secrets/credential-fields.ts";
import type { KeyRing } from "../secrets/key-ring.ts";
import { parseCredentials } from "./credentials-schema.ts";
import type { Db, Queryable } from "./db.ts";

const cursorsSchema = z.looseObject({
  gmailHistoryId: z.string().optional(),
  gmailWatchExpiration: z.string().optional(),
  gmailTopic: z.string().optional(),
  imapUidValidity: z.string().optional(),
  imapLastUid: z.number().optional(),
  imapLastInternalDate: z.string().optional(),
  imapBoundaryMessageIds: z.array(z.string()).optional(),
  graphSubscriptionId: z.string().optional(),
  graphSubscriptionExpiresAt: z.string().optional(),
  graphClientState: z.string().optional(),
  needsResync: z.boolean().optional(),
  graphDeltaLink: z.string().optional(),
  graphDeltaSince: z.string().optional(),
  lastSweep: z.object({ at: z.string(), listed: z.number(), enqueued: z.number(), found: z.number(), error: z.string().optional() }).optional(),
});

type Env = Readonly<Record<string, string | undefined>>;

interface ProviderRow {
  id: string;
  tenant_id: string;
  kind: ProviderKind;
  address: string;
  credentials: unknown;
  cursors: unknown;
  bulk_mail_opens_tickets: boolean;
  auth_status: "ok" | "needs_reauthorisation";
  auth_reason: string | null;
  auth_changed_at: Date | string | null;
}

const COLUMNS = "id, tenant_id, kind, address, credentials, cursors, bulk_mail_opens_tickets, auth_status, auth_reason, auth_changed_at";
const SELECT_ACTIVE = `SELECT ${COLUMNS} FROM mailbox_providers WHERE id = $1 AND status = 'active'`;
const LIST_ACTIVE = `SELECT ${COLUMNS} FROM mailbox_providers WHERE status = 'active' ORDER BY created_at`;
const LIST_ACTIVE_OF_KIND = `SELECT ${COLUMNS} FROM mailbox_providers WHERE status = 'active' AND kind = $1 ORDER BY created_at`;
const SELECT_STORED_CREDENTIALS = "SELECT credentials FROM mailbox_providers WHERE id = $1";
const UPDATE_CURSORS = "UPDATE mailbox_providers SET cursors = cursors || $2::jsonb WHERE id = $1";
const INSERT_MAILBOX =
  "INSERT INTO mailbox_providers (id, tenant_id, kind, address, credentials, credentials_key_id, cursors, bulk_mail_opens_tickets) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8)";
const LOCK_BY_ADDRESS = "SELECT id, status FROM mailbox_providers WHERE tenant_id = $1 AND kind = $2 AND address = $3 FOR UPDATE";
const RECONNECT_MAILBOX =
  "UPDATE mailbox_providers SET credentials = $2::jsonb, credentials_key_id = $3, bulk_mail_opens_tickets = COALESCE($4::boolean, bulk_mail_opens_tickets), status = 'active', auth_status = 'ok', auth_reason = NULL, auth_changed_at = now() WHERE id = $1";
const RESET_CURSORS = "UPDATE mailbox_providers SET cursors = '{}'::jsonb WHERE id = $1";
const MARK_NEEDS_REAUTHORISATION =
  "UPDATE mailbox_providers SET auth_status = 'needs_reauthorisation', auth_reason = $2, auth_changed_at = now() WHERE id = $1 AND auth_status = 'ok' RETURNING id";
const REMOVE_MAILBOX = "UPDATE mailbox_providers SET status = 'removed' WHERE id = $1 AND status = 'active' RETURNING id";
const PARK_JOB = "INSERT INTO mailbox_parked_jobs (provider_id, job) VALUES ($1, $2::jsonb)";
const PARKED_JOBS = "SELECT id, job FROM mailbox_parked_jobs WHERE provider_id = $1 ORDER BY id LIMIT $2";
const UNPARK_JOBS = "DELETE FROM mailbox_parked_jobs WHERE id = ANY($1::bigint[])";
const PROCESSED_MESSAGE_IDS = "SELECT provider_message_id FROM email_processed_messages WHERE provider_id = $1 AND provider_message_id = ANY($2::text[])";
const ENSURE_TENANT = "INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";

/** Every `env:NAME` string in the credentials, at any depth, read from `env`. */
export function resolveSecrets(credentials: unknown, env: Env): unknown {
  if (Array.isArray(credentials)) return credentials.map((v) => resolveSecrets(v, env));
  if (typeof credentials === "string" && credentials.startsWith("env:")) {
    const resolved = env[credentials.slice(4)];
    if (resolved === undefined) throw permanent("credential_reference_unset", `a credential refers to ${credentials.slice(4)}, which is not set`);
    return resolved;
  }
  if (typeof credentials !== "object" || credentials === null) return credentials;
  return Object.fromEntries(Object.entries(credentials).map(([k, v]) => [k, resolveSecrets(v, env)]));
}

const json = (value: unknown): unknown => (typeof value === "string" ? (JSON.parse(value) as unknown) : value);

function checked(value: unknown, providerId: string): MailboxCredentials {
  const parsed = parseCredentials(value);
  if (!parsed.ok) throw permanent("credentials_invalid", `mailbox ${providerId}: its credentials do not fit at ${parsed.problem}`);
  return parsed.credentials;
}

function toRecord(row: ProviderRow, env: Env, ring: KeyRing | undefined): MailboxRecord {
  const credentials = checked(resolveSecrets(openCredentials(json(row.credentials), ring, row.id), env), row.id);
  if (credentials.type !== row.kind) throw permanent("credentials_invalid", `mailbox ${row.id} is a ${row.kind} mailbox with ${credentials.type} credentials`);
  return {
    providerId: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    address: row.address,
    credentials,
    cursors: cursorsSchema.parse(json(row.cursors) ?? {}) as MailboxCursors,
    bulkMailOpensTickets: row.bulk_mail_opens_tickets,
    ...(row.auth_status === "needs_reauthorisation"
      ? { authorisation: { status: "needs_reauthorisation" as const, reason: row.auth_reason ?? "unknown", since: new Date(row.auth_changed_at ?? 0).toISOString() } }
      : {}),
  } as MailboxRecord;
}

export interface NewMailbox {
  tenantId: string;
  kind: ProviderKind;
  address: string;
  credentials: MailboxCredentials;
  cursors?: MailboxCursors;
  bulkMailOpensTickets?: boolean;
  id?: string;
}

/** What `connect` found under the mailbox's tenant, provider and address. */
export type ConnectedAs = "new" | "reconnected" | "reactivated";

export interface ParkedJob {
  id: string;
  job: Job;
}

export class Mailboxes implements MailboxDirectory {
  readonly #db: Db;
  readonly #env: Env;
  readonly #ring: KeyRing | undefined;

  constructor(db: Db, env: Env = process.env, ring?: KeyRing) {
    this.#db = db;
    this.#env = env;
    this.#ring = ring;
  }

  async get(providerId: string, q: Queryable = this.#db): Promise<MailboxRecord | undefined> {
    const [row] = await q.query<ProviderRow>(SELECT_ACTIVE, [providerId]);
    return row ? toRecord(row, this.#env, this.#ring) : undefined;
  }

  async list(kind?: ProviderKind): Promise<MailboxRecord[]> {
    const rows = kind ? await this.#db.query<ProviderRow>(LIST_ACTIVE_OF_KIND, [kind]) : await this.#db.query<ProviderRow>(LIST_ACTIVE);
    return rows.map((r) => toRecord(r, this.#env, this.#ring));
  }

  /** The credentials as they will be used: `env:NAME` references read from the environment. */
  resolve<T extends MailboxCredentials>(credentials: T): T {
    return resolveSecrets(credentials, this.#env) as T;
  }

  /** The credentials as stored (sealed values and references), for masked display. */
  async storedCredentials(providerId: string): Promise<unknown> {
    const [row] = await this.#db.query<{ credentials: unknown }>(SELECT_STORED_CREDENTIALS, [providerId]);
    return row ? json(row.credentials) : undefined;
  }

  async updateCursors(providerId: string, patch: MailboxCursors): Promise<void> {
    await this.#db.query(UPDATE_CURSORS, [providerId, JSON.stringify(patch)]);
  }

  async markNeedsReauthorisation(providerId: string, reason: string): Promise<boolean> {
    return (await this.#db.query(MARK_NEEDS_REAUTHORISATION, [providerId, reason])).length > 0;
  }

  /** Keep a job skipped while the mailbox needs re-authorisation, to enqueue it again once the
   * mailbox is connected again. */
  async parkJob(providerId: string, job: Job): Promise<void> {
    await this.#db.query(PARK_JOB, [providerId, JSON.stringify(job)]);
  }

  /** The oldest parked jobs (at most `limit`); `unpark` removes them once they are enqueued. */
  async parkedJobs(providerId: string, limit = 500): Promise<ParkedJob[]> {
    const rows = await this.#db.query<{ id: string | number; job: unknown }>(PARKED_JOBS, [providerId, limit]);
    return rows.map((r) => ({ id: String(r.id), job: json(r.job) as Job }));
  }

  async unpark(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#db.query(UNPARK_JOBS, [[...ids]]);
  }

  /** Which of these provider message ids (Graph immutable ids, Gmail ids) the mailbox has had
   * processed already. */
  async processedMessageIds(providerId: string, providerMessageIds: readonly string[]): Promise<Set<string>> {
    if (providerMessageIds.length === 0) return new Set();
    const rows = await this.#db.query<{ provider_message_id: string }>(PROCESSED_MESSAGE_IDS, [providerId, [...providerMessageIds]], { prepare: true });
    return new Set(rows.map((r) => r.provider_message_id));
  }

  async ensureTenant(id: string, name = id, q: Queryable = this.#db): Promise<void> {
    await q.query(ENSURE_TENANT, [id, name]);
  }

  /** The credentials as they are written: every secret sealed (when there is a key ring), and
   * the key they are sealed under. */
  #stored(providerId: string, credentials: MailboxCredentials): { credentials: string; keyId: string | null } {
    checked(credentials, providerId);
    const stored = this.#ring ? sealCredentials(credentials, this.#ring, providerId) : credentials;
    const sealedUnder = [...censusOf(stored).sealed.keys()];
    return { credentials: JSON.stringify(stored), keyId: sealedUnder[0] ?? null };
  }

  async add(input: NewMailbox): Promise<string> {
    const id = input.id ?? `${input.kind}-${randomUUID().slice(0, 8)}`;
    const stored = this.#stored(id, input.credentials);
    await this.ensureTenant(input.tenantId);
    await this.#db.query(INSERT_MAILBOX, [id, input.tenantId, input.kind, input.address.toLowerCase(), stored.credentials, stored.keyId, JSON.stringify(input.cursors ?? {}), input.bulkMailOpensTickets ?? false]);
    return id;
  }

  /** Add the mailbox, or give the one already connected under this tenant, provider and address
   * its new credentials, clearing a needs-re-authorisation status and keeping its cursors (so the
   * next sweep starts where the last one ended). A mailbox removed earlier comes back with fresh
   * cursors, as if new. */
  async connect(input: NewMailbox): Promise<{ providerId: string; connectedAs: ConnectedAs }> {
    const address = input.address.toLowerCase();
    return this.#db.transaction(async (tx) => {
      await this.ensureTenant(input.tenantId, input.tenantId, tx);
      const [existing] = await tx.query<{ id: string; status: string }>(LOCK_BY_ADDRESS, [input.tenantId, input.kind, address]);
      if (!existing) {
        const id = input.id ?? `${input.kind}-${randomUUID().slice(0, 8)}`;
        const stored = this.#stored(id, input.credentials);
        await tx.query(INSERT_MAILBOX, [id, input.tenantId, input.kind, address, stored.credentials, stored.keyId, JSON.stringify(input.cursors ?? {}), input.bulkMailOpensTickets ?? false]);
        return { providerId: id, connectedAs: "new" as const };
      }
      const stored = this.#stored(existing.id, input.credentials);
      await tx.query(RECONNECT_MAILBOX, [existing.id, stored.credentials, stored.keyId, input.bulkMailOpensTickets ?? null]);
      if (existing.status === "active") return { providerId: existing.id, connectedAs: "reconnected" as const };
      await tx.query(RESET_CURSORS, [existing.id]);
      return { providerId: existing.id, connectedAs: "reactivated" as const };
    });
  }

  async remove(providerId: string): Promise<boolean> {
    return (await this.#db.query(REMOVE_MAILBOX, [providerId])).length > 0;
  }
}
