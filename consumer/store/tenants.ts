// Tenants (helpdesk accounts) for the admin CLI: add, list, remove.
import type { Db, Queryable } from "./db.ts";

export interface Tenant {
  id: string;
  name: string;
  createdAt: Date;
  /** Active connected mailboxes. */
  mailboxes: number;
}

export async function addTenant(db: Queryable, id: string, name = id): Promise<boolean> {
  const rows = await db.query("INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id", [id, name]);
  return rows.length > 0;
}

export async function listTenants(db: Queryable): Promise<Tenant[]> {
  const rows = await db.query<{ id: string; name: string; created_at: Date; mailboxes: number }>(
    "SELECT t.id, t.name, t.created_at, (SELECT count(*)::int FROM mailbox_providers p WHERE p.tenant_id = t.id AND p.status = 'active') AS mailboxes FROM tenants t ORDER BY t.id",
  );
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at), mailboxes: r.mailboxes }));
}

/** Removes a tenant that has nothing left: no active mailbox and no ticket. Says why it did not. */
export async function removeTenant(db: Db, id: string): Promise<{ removed: true } | { removed: false; reason: "not_found" | "has_mailboxes" | "has_tickets" }> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ mailboxes: number; tickets: number }>(
      "SELECT (SELECT count(*)::int FROM mailbox_providers WHERE tenant_id = $1 AND status = 'active') AS mailboxes, (SELECT count(*)::int FROM tickets WHERE tenant_id = $1) AS tickets FROM tenants WHERE id = $1 FOR UPDATE",
      [id],
    );
    if (!row) return { removed: false, reason: "not_found" } as const;
    if (row.mailboxes > 0) return { removed: false, reason: "has_mailboxes" } as const;
    if (row.tickets > 0) return { removed: false, reason: "has_tickets" } as const;
    await tx.query("DELETE FROM mailbox_providers WHERE tenant_id = $1 AND status <> 'active'", [id]);
    await tx.query("DELETE FROM contacts WHERE tenant_id = $1", [id]);
    await tx.query("DELETE FROM email_processed_messages WHERE tenant_id = $1", [id]);
    await tx.query("DELETE FROM tenants WHERE id = $1", [id]);
    return { removed: true } as const;
  });
}
