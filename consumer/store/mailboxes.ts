// Tenants and connected mailboxes ("mailbox providers"): the MailboxDirectory the resolvers use,
// and what the admin CLI needs to add, list and remove them.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { MailboxCredentials, MailboxCursors, MailboxDirectory, MailboxRecord, ProviderKind } from "../domain/mailbox.ts";
import type { Db, Queryable } from "./db.ts";

const credentialsSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("microsoft"), azureTenantId: z.string(), clientId: z.string(), clientSecret: z.string() }),
  z.object({ type: z.literal("google"), clientId: z.string(), clientSecret: z.string(), refreshToken: z.string() }),
  z.object({ type: z.literal("imap"), host: z.string(), port: z.number().int(), secure: z.boolean(), user: z.string(), password: z.string().optional(), accessToken: z.string().optional(), folder: z.string().optional() }),
]);

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

interface ProviderRow {
  id: string;
  tenant_id: string;
  kind: ProviderKind;
  address: string;
  credentials: unknown;
  cursors: unknown;
  bulk_mail_opens_tickets: boolean;
}

/** `env:NAME` in a credential field is read from the environment when the row is used. */
export function resolveSecrets(credentials: MailboxCredentials, env: Readonly<Record<string, string | undefined>>): MailboxCredentials {
  const out: Record<string, unknown> = { ...credentials };
  for (const [key, value] of Object.entries(out)) {
    if (typeof value === "string" && value.startsWith("env:")) {
      const resolved = env[value.slice(4)];
      if (resolved === undefined) throw new Error(`credential ${key} refers to ${value.slice(4)}, which is not set`);
      out[key] = resolved;
    }
  }
  return credentialsSchema.parse(out);
}

function toRecord(row: ProviderRow, env: Readonly<Record<string, string | undefined>>): MailboxRecord {
  const raw = typeof row.credentials === "string" ? (JSON.parse(row.credentials) as unknown) : row.credentials;
  const cursors = typeof row.cursors === "string" ? (JSON.parse(row.cursors) as unknown) : row.cursors;
  const credentials = resolveSecrets(credentialsSchema.parse(raw), env);
  if (credentials.type !== row.kind) throw new Error(`mailbox ${row.id} is a ${row.kind} mailbox with ${credentials.type} credentials`);
  return {
    providerId: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    address: row.address,
    credentials,
    cursors: cursorsSchema.parse(cursors ?? {}) as MailboxCursors,
    bulkMailOpensTickets: row.bulk_mail_opens_tickets,
  } as MailboxRecord;
}

const SELECT = "SELECT id, tenant_id, kind, address, credentials, cursors, bulk_mail_opens_tickets FROM mailbox_providers";

export class Mailboxes implements MailboxDirectory {
  readonly #db: Db;
  readonly #env: Readonly<Record<string, string | undefined>>;

  constructor(db: Db, env: Readonly<Record<string, string | undefined>> = process.env) {
    this.#db = db;
    this.#env = env;
  }

  async get(providerId: string, q: Queryable = this.#db): Promise<MailboxRecord | undefined> {
    const [row] = await q.query<ProviderRow>(`${SELECT} WHERE id = $1 AND status = 'active'`, [providerId]);
    return row ? toRecord(row, this.#env) : undefined;
  }

  async list(kind?: ProviderKind): Promise<MailboxRecord[]> {
    const rows = kind
      ? await this.#db.query<ProviderRow>(`${SELECT} WHERE status = 'active' AND kind = $1 ORDER BY created_at`, [kind])
      : await this.#db.query<ProviderRow>(`${SELECT} WHERE status = 'active' ORDER BY created_at`);
    return rows.map((r) => toRecord(r, this.#env));
  }

  async updateCursors(providerId: string, patch: MailboxCursors): Promise<void> {
    await this.#db.query("UPDATE mailbox_providers SET cursors = cursors || $2::jsonb WHERE id = $1", [providerId, JSON.stringify(patch)]);
  }

  /** Which of these provider message ids (Graph immutable ids, Gmail ids) the mailbox has had
   * processed already. */
  async processedMessageIds(providerId: string, providerMessageIds: readonly string[]): Promise<Set<string>> {
    if (providerMessageIds.length === 0) return new Set();
    const rows = await this.#db.query<{ provider_message_id: string }>(
      "SELECT provider_message_id FROM email_processed_messages WHERE provider_id = $1 AND provider_message_id = ANY($2::text[])",
      [providerId, [...providerMessageIds]],
      { prepare: true },
    );
    return new Set(rows.map((r) => r.provider_message_id));
  }

  async ensureTenant(id: string, name = id): Promise<void> {
    await this.#db.query("INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", [id, name]);
  }

  async add(input: { tenantId: string; kind: ProviderKind; address: string; credentials: MailboxCredentials; cursors?: MailboxCursors; bulkMailOpensTickets?: boolean; id?: string }): Promise<string> {
    credentialsSchema.parse(input.credentials);
    await this.ensureTenant(input.tenantId);
    const id = input.id ?? `${input.kind}-${randomUUID().slice(0, 8)}`;
    await this.#db.query(
      "INSERT INTO mailbox_providers (id, tenant_id, kind, address, credentials, cursors, bulk_mail_opens_tickets) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)",
      [id, input.tenantId, input.kind, input.address.toLowerCase(), JSON.stringify(input.credentials), JSON.stringify(input.cursors ?? {}), input.bulkMailOpensTickets ?? false],
    );
    return id;
  }

  async remove(providerId: string): Promise<boolean> {
    const rows = await this.#db.query("UPDATE mailbox_providers SET status = 'removed' WHERE id = $1 AND status = 'active' RETURNING id", [providerId]);
    return rows.length > 0;
  }
}
