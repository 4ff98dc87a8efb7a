// The plans of apply_message()'s statements, as a connection caches them: made at its first
// message and used for every message after, often while the tables hold rows but no statistics
// (a consumer starting or reconnecting before autovacuum has analyzed them; PGlite, which has no
// autovacuum, stays so). Each must be a key lookup whatever the tables hold: no walk over the
// tenant's Message-IDs, no sequential scan, no hash or merge join. Read with auto_explain (nested
// statements, with row counts).
import { PGlite } from "@electric-sql/pglite";
import { auto_explain } from "@electric-sql/pglite/contrib/auto_explain";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { applyMessage, type ApplyInput } from "../../../consumer/processing/apply.ts";
import { UNPARSED_MESSAGE } from "../../../consumer/delivery/message-summary.ts";
import { SESSION_SETTINGS, type Db, type Queryable, type SqlValue } from "../../../consumer/store/db.ts";
import { migrate } from "../../../consumer/store/migrations.ts";
import { openPostgres } from "../../../consumer/store/postgres.ts";
import { backends, createPostgresDatabase, type Backend } from "../../support/database.ts";

const EXPLAIN = "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_analyze = on; SET client_min_messages = log";

/** A session of Inlet's settings whose every plan is reported into `plans`. */
async function explainedSession(backend: Backend): Promise<{ db: Queryable; plans: string[]; close(): Promise<void> }> {
  const plans: string[] = [];
  if (backend === "postgres") {
    const created = await createPostgresDatabase();
    const setup = openPostgres(created.url, { max: 1 });
    await migrate(setup);
    await setup.close();
    const client = new pg.Client({ connectionString: created.url });
    await client.connect();
    await client.query(SESSION_SETTINGS);
    await client.query(EXPLAIN);
    client.on("notice", (notice) => plans.push(notice.message ?? ""));
    const db: Queryable = { query: async <Row>(sql: string, params: readonly SqlValue[] = []) => (await client.query({ text: sql, values: params as unknown[] })).rows as Row[] };
    return { db, plans, close: async () => (await client.end(), await created.drop()) };
  }
  const lite = await PGlite.create({ extensions: { auto_explain } });
  await lite.exec(SESSION_SETTINGS);
  const query = async <Row>(sql: string, params: readonly SqlValue[] = []) => (await lite.query<Row>(sql, params as unknown[], { onNotice: (notice) => plans.push(notice.message ?? "") })).rows;
  const db: Db = { kind: "pglite", query, transaction: (body) => lite.transaction((tx) => body({ query: async <Row>(sql: string, params: readonly SqlValue[] = []) => (await tx.query<Row>(sql, params as unknown[])).rows })), close: () => lite.close() };
  await migrate(db);
  await lite.exec(EXPLAIN);
  return { db, plans, close: () => lite.close() };
}

const message = (n: number, thread: string[], extra: Partial<ApplyInput> = {}): ApplyInput => ({
  tenantId: "tenant-1",
  identity: `new-${n}@example.org`,
  provider: "imap",
  providerId: "mailbox-1",
  providerMessageId: `1:${n}`,
  classification: "normal",
  skipReason: undefined,
  suspicious: false,
  suspiciousReason: undefined,
  bulk: false,
  bulkOpensTickets: false,
  thread: { messageIds: [...thread, `new-${n}@example.org`], ticketNumber: undefined },
  subject: "Subject",
  author: { address: `customer${n}@example.org`, name: "Customer" },
  body: { text: "Body", fullText: "Body", html: null, messageId: `new-${n}@example.org` },
  documents: [],
  note: undefined,
  summary: { ...UNPARSED_MESSAGE, classification: "normal", messageId: `new-${n}@example.org` },
  ...extra,
});

describe.each(backends)("query plans on %s", (backend) => {
  it("apply_message() first run on a tenant with 400 tickets and no statistics looks every row up by key", async () => {
    const { db, plans, close } = await explainedSession(backend);
    try {
      await db.query("INSERT INTO tenants (id, name) VALUES ('tenant-1', 'Tenant')");
      await db.query("INSERT INTO contacts (tenant_id, email) SELECT 'tenant-1', 'old' || g || '@example.org' FROM generate_series(1, 400) g");
      await db.query("INSERT INTO tickets (tenant_id, number, subject, description_text, description_full_text) SELECT 'tenant-1', g, 'Subject', 'Body', 'Body' FROM generate_series(1, 400) g");
      await db.query("SELECT setval(ticket_number_sequence('tenant-1')::regclass, 400)");
      await db.query("INSERT INTO ticket_message_ids (tenant_id, message_id, ticket_id, direction) SELECT 'tenant-1', 'old' || id || '@example.org', id, 'received' FROM tickets");
      await db.query("INSERT INTO email_processed_messages (tenant_id, identity, provider, status, ticket_id) SELECT 'tenant-1', 'old' || id || '@example.org', 'imap', 'ticket', id FROM tickets");
      // The first message plans every statement of the function.
      await applyMessage(db, message(0, []));
      plans.length = 0;
      // A new ticket, a reply naming three old ids, a reply found by its subject token, a duplicate.
      expect(await applyMessage(db, message(2, []))).toMatchObject({ claimed: true, status: "ticket" });
      expect(await applyMessage(db, message(3, ["old7@example.org", "old8@example.org", "old9@example.org"]))).toMatchObject({ claimed: true, status: "comment" });
      expect(await applyMessage(db, message(4, [], { thread: { messageIds: ["new-4@example.org"], ticketNumber: 5 } }))).toMatchObject({ claimed: true, status: "comment" });
      expect(await applyMessage(db, message(2, []))).toMatchObject({ claimed: false, status: "ticket" });
      const text = plans.join("\n");
      expect(text).toContain("ticket_message_ids_pkey");
      expect(text).not.toMatch(/Seq Scan|Bitmap|Hash Join|Merge Join/);
      // Every read of ticket_message_ids is by its whole key, never a walk over the tenant's ids.
      for (const scan of text.matchAll(/Index Scan using ticket_message_ids_pkey[^\n]*\n\s*Index Cond: ([^\n]*)/g)) expect(scan[1]).toContain("message_id");
      const removed = [...text.matchAll(/Rows Removed by (?:Join )?Filter: (\d+)/g)].map((m) => Number(m[1]));
      expect(removed.every((n) => n <= 1), `rows removed by filters: ${removed.join(", ")}`).toBe(true);
    } finally {
      await close();
    }
  });
});
