// Webhook endpoints per tenant. A secret (whsec_…) is generated here and returned once, to be
// shown; it is stored sealed under INLET_SECRETS_KEY when one is set (bound to the endpoint, as
// credentials are to their mailbox), else as it is. rotate-secret keeps the old secret signing
// next to the new one for a grace period, so receivers can switch at their own pace.
import { randomBytes } from "node:crypto";
import type { KeyRing } from "../secrets/key-ring.ts";
import { isSealed, open, seal } from "../secrets/sealed.ts";
import type { Queryable } from "../store/db.ts";
import { DEFAULT_EVENT_TYPES, type EventType } from "./event-types.ts";
import { generateSecret } from "./signing.ts";
import { checkUrlShape, type UrlPolicy } from "./url-policy.ts";
import { Refusal } from "./refusal.ts";

export interface WebhookEndpoint {
  id: string;
  tenantId: string;
  url: string;
  events: EventType[];
  createdAt: string;
  /** Until when the previous secret still signs (after rotate-secret); null: only the current one. */
  previousSecretUntil: string | null;
  /** The key the secret is sealed under; null when stored plain (no INLET_SECRETS_KEY). */
  sealedUnder: string | null;
}

export const DEFAULT_ROTATION_GRACE_MS = 24 * 3_600_000;

interface Row {
  id: string;
  tenant_id: string;
  url: string;
  event_types: string[] | null;
  secret: string;
  secret_key_id: string | null;
  previous_secret: string | null;
  previous_secret_until: Date | string | null;
  created_at: Date | string;
}

const COLUMNS = "id, tenant_id, url, event_types, secret, secret_key_id, previous_secret, previous_secret_until, created_at";
const iso = (value: Date | string) => new Date(value).toISOString();

function fromRow(row: Row): WebhookEndpoint {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    url: row.url,
    events: (row.event_types ?? [...DEFAULT_EVENT_TYPES]) as EventType[],
    createdAt: iso(row.created_at),
    previousSecretUntil: row.previous_secret_until && new Date(row.previous_secret_until) > new Date() ? iso(row.previous_secret_until) : null,
    sealedUnder: row.secret_key_id,
  };
}

const context = (id: string, field: "secret" | "previous_secret") => `webhook:${id}:${field}`;

function stored(ring: KeyRing | undefined, id: string, field: "secret" | "previous_secret", secret: string): { value: string; keyId: string | null } {
  return ring ? { value: seal(ring, secret, context(id, field)), keyId: ring.primary.id } : { value: secret, keyId: null };
}

function opened(ring: KeyRing | undefined, id: string, field: "secret" | "previous_secret", value: string): string {
  return isSealed(value) ? open(ring, value, context(id, field)) : value;
}

export interface AddEndpoint {
  tenantId: string;
  url: string;
  /** Undefined: the default ticket events. */
  events?: readonly EventType[];
}

export async function addEndpoint(db: Queryable, ring: KeyRing | undefined, policy: UrlPolicy, input: AddEndpoint): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const url = checkUrlShape(input.url, policy).toString();
  const [tenant] = await db.query("SELECT 1 FROM tenants WHERE id = $1", [input.tenantId]);
  if (!tenant) throw new Refusal("tenant_not_found", `no tenant ${JSON.stringify(input.tenantId)}`, 404);
  const id = `whep_${randomBytes(9).toString("base64url")}`;
  const secret = generateSecret();
  const sealed = stored(ring, id, "secret", secret);
  const [row] = await db.query<Row>(
    `INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, secret, secret_key_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [id, input.tenantId, url, input.events ? [...input.events] : null, sealed.value, sealed.keyId],
  );
  return { endpoint: fromRow(row!), secret };
}

export async function listEndpoints(db: Queryable, tenantId?: string): Promise<WebhookEndpoint[]> {
  const rows = tenantId === undefined
    ? await db.query<Row>(`SELECT ${COLUMNS} FROM webhook_endpoints ORDER BY tenant_id, created_at, id`)
    : await db.query<Row>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
  return rows.map(fromRow);
}

export async function getEndpoint(db: Queryable, id: string): Promise<WebhookEndpoint> {
  const [row] = await db.query<Row>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
  if (!row) throw new Refusal("endpoint_not_found", `no webhook endpoint ${JSON.stringify(id)}`, 404);
  return fromRow(row);
}

/** Removes the endpoint and its deliveries (pending ones are not sent). */
export async function removeEndpoint(db: Queryable, id: string): Promise<void> {
  const rows = await db.query("DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id", [id]);
  if (rows.length === 0) throw new Refusal("endpoint_not_found", `no webhook endpoint ${JSON.stringify(id)}`, 404);
}

/** A new secret; the current one keeps signing, after the new one, until `graceMs` from now. */
export async function rotateSecret(db: Queryable, ring: KeyRing | undefined, id: string, graceMs = DEFAULT_ROTATION_GRACE_MS): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const [current] = await db.query<Row>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
  if (!current) throw new Refusal("endpoint_not_found", `no webhook endpoint ${JSON.stringify(id)}`, 404);
  const secret = generateSecret();
  const next = stored(ring, id, "secret", secret);
  const previous = stored(ring, id, "previous_secret", opened(ring, id, "secret", current.secret));
  const [row] = await db.query<Row>(
    `UPDATE webhook_endpoints SET secret = $2, secret_key_id = $3, previous_secret = $4, previous_secret_key_id = $5, previous_secret_until = now() + make_interval(secs => $6::float8 / 1000)
      WHERE id = $1 AND secret = $7 RETURNING ${COLUMNS}`,
    [id, next.value, next.keyId, previous.value, previous.keyId, graceMs, current.secret],
  );
  if (!row) throw new Refusal("endpoint_rotated_concurrently", "the secret was rotated by someone else meanwhile: run rotate-secret again", 400);
  return { endpoint: fromRow(row), secret };
}

export interface SigningEndpoint {
  id: string;
  tenantId: string;
  url: string;
  /** The secrets that sign now: the current one, then the previous one during its grace period. */
  secrets: string[];
}

export async function signingEndpoint(db: Queryable, ring: KeyRing | undefined, id: string): Promise<SigningEndpoint | undefined> {
  const [row] = await db.query<Row>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
  if (!row) return undefined;
  const previous = row.previous_secret && row.previous_secret_until && new Date(row.previous_secret_until) > new Date() ? row.previous_secret : null;
  return { id: row.id, tenantId: row.tenant_id, url: row.url, secrets: signingSecrets(ring, id, row.secret, previous) };
}

/** The stored secret and, during its grace period, the previous one, opened: the secrets that sign. */
export function signingSecrets(ring: KeyRing | undefined, id: string, secret: string, previousSecret: string | null): string[] {
  return previousSecret ? [opened(ring, id, "secret", secret), opened(ring, id, "previous_secret", previousSecret)] : [opened(ring, id, "secret", secret)];
}

/** Every endpoint secret that is plain or sealed under another key, sealed again under the ring's
 * primary key (`inlet secrets rotate`); how many endpoints. Run inside a transaction. */
export async function resealEndpointSecrets(q: Queryable, ring: KeyRing): Promise<number> {
  const keyId = ring.primary.id;
  const rows = await q.query<{ id: string; secret: string; previous_secret: string | null }>(
    "SELECT id, secret, previous_secret FROM webhook_endpoints WHERE secret_key_id IS DISTINCT FROM $1 OR (previous_secret IS NOT NULL AND previous_secret_key_id IS DISTINCT FROM $1) ORDER BY id FOR UPDATE",
    [keyId],
  );
  for (const row of rows) {
    const secret = stored(ring, row.id, "secret", opened(ring, row.id, "secret", row.secret));
    const previous = row.previous_secret === null ? null : stored(ring, row.id, "previous_secret", opened(ring, row.id, "previous_secret", row.previous_secret));
    await q.query("UPDATE webhook_endpoints SET secret = $2, secret_key_id = $3, previous_secret = $4, previous_secret_key_id = $5 WHERE id = $1", [row.id, secret.value, secret.keyId, previous?.value ?? null, previous?.keyId ?? null]);
  }
  return rows.length;
}
