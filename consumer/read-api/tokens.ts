// Bearer tokens of the read API, one or more per tenant. A token is `inlet_` and 32 random bytes
// (base64url), shown once; only its SHA-256 is stored, so the table gives no one a usable token.
import { createHash, randomBytes } from "node:crypto";
import type { Queryable } from "../store/db.ts";
import { Refusal } from "../delivery/refusal.ts";

export interface ApiToken {
  id: string;
  tenantId: string;
  name: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

const hash = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");
const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

export async function createApiToken(db: Queryable, tenantId: string, name?: string): Promise<{ token: string; apiToken: ApiToken }> {
  const [tenant] = await db.query("SELECT 1 FROM tenants WHERE id = $1", [tenantId]);
  if (!tenant) throw new Refusal("tenant_not_found", `no tenant ${JSON.stringify(tenantId)}`, 404);
  const token = `inlet_${randomBytes(32).toString("base64url")}`;
  const id = `tok_${randomBytes(6).toString("hex")}`;
  const [row] = await db.query<{ created_at: Date }>("INSERT INTO api_tokens (id, tenant_id, token_hash, name) VALUES ($1, $2, $3, $4) RETURNING created_at", [id, tenantId, hash(token), name ?? null]);
  return { token, apiToken: { id, tenantId, name: name ?? null, createdAt: iso(row!.created_at)!, lastUsedAt: null } };
}

export async function listApiTokens(db: Queryable, tenantId?: string): Promise<ApiToken[]> {
  const rows = await db.query<{ id: string; tenant_id: string; name: string | null; created_at: Date; last_used_at: Date | null }>(
    "SELECT id, tenant_id, name, created_at, last_used_at FROM api_tokens WHERE ($1::text IS NULL OR tenant_id = $1) ORDER BY tenant_id, created_at",
    [tenantId ?? null],
  );
  return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, name: r.name, createdAt: iso(r.created_at)!, lastUsedAt: iso(r.last_used_at) }));
}

export async function revokeApiToken(db: Queryable, id: string): Promise<void> {
  const rows = await db.query("DELETE FROM api_tokens WHERE id = $1 RETURNING id", [id]);
  if (rows.length === 0) throw new Refusal("token_not_found", `no API token ${JSON.stringify(id)}`, 404);
}

/** The tenant a presented token belongs to, or undefined. The lookup is by the hash's unique
 * index, so its time does not depend on how much of a guess matches. */
export async function tenantOfToken(db: Queryable, token: string): Promise<string | undefined> {
  if (!/^inlet_[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  // last_used_at is written at most once a minute per token, not on every request.
  const [row] = await db.query<{ tenant_id: string }>(
    `WITH t AS (SELECT id, tenant_id, last_used_at FROM api_tokens WHERE token_hash = $1),
          used AS (UPDATE api_tokens a SET last_used_at = now() FROM t WHERE a.id = t.id AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'))
     SELECT tenant_id FROM t`,
    [hash(token)],
    { prepare: true },
  );
  return row?.tenant_id;
}
