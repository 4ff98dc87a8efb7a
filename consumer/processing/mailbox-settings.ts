// What processing needs to know about the connected mailbox a message came through, read with
// one query and cached briefly (settings change by admin command, rarely; a message processed a
// few seconds after a change with the old setting is acceptable).
import type { ProviderKind } from "../domain/mailbox.ts";
import type { Queryable } from "../store/db.ts";

export interface MailboxSettings {
  tenantId: string;
  kind: ProviderKind;
  /** Every active helpdesk address of the tenant: mail from any of them is a loop. */
  ownAddresses: string[];
  bulkMailOpensTickets: boolean;
}

interface Row {
  tenant_id: string;
  kind: ProviderKind;
  bulk_mail_opens_tickets: boolean;
  own_addresses: string[];
}

const SQL = `
  SELECT p.tenant_id, p.kind, p.bulk_mail_opens_tickets,
         ARRAY(SELECT o.address FROM mailbox_providers o WHERE o.tenant_id = p.tenant_id AND o.status = 'active') AS own_addresses
  FROM mailbox_providers p WHERE p.id = $1 AND p.status = 'active'`;

export function mailboxSettingsReader(db: Queryable, ttlMs: number): (providerId: string) => Promise<MailboxSettings | undefined> {
  const cache = new Map<string, { value: MailboxSettings; expires: number }>();
  return async (providerId) => {
    const hit = cache.get(providerId);
    if (hit && hit.expires > Date.now()) return hit.value;
    const [row] = await db.query<Row>(SQL, [providerId], { prepare: true });
    if (!row) {
      cache.delete(providerId);
      return undefined;
    }
    const value: MailboxSettings = { tenantId: row.tenant_id, kind: row.kind, ownAddresses: row.own_addresses.map((a) => a.toLowerCase()), bulkMailOpensTickets: row.bulk_mail_opens_tickets };
    if (ttlMs > 0) cache.set(providerId, { value, expires: Date.now() + ttlMs });
    return value;
  };
}
