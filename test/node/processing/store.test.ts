// The store: migrations applied once even when several processes start together; tenants and
// connected mailboxes as the admin CLI manages them; the MailboxDirectory the resolvers use.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { migrate, migrations } from "../../../consumer/store/migrations.ts";
import { openPostgres } from "../../../consumer/store/postgres.ts";
import { addTenant, listTenants, removeTenant } from "../../../consumer/store/tenants.ts";
import { backends, createPostgresDatabase, testDatabase, type TestDatabase } from "../../support/database.ts";

describe("migrations on PostgreSQL", () => {
  it("five processes migrating one fresh database at once apply each version exactly once", async () => {
    const created = await createPostgresDatabase();
    const pools = Array.from({ length: 5 }, () => openPostgres(created.url, { max: 1 }));
    try {
      const applied = await Promise.all(pools.map((db) => migrate(db)));
      expect(applied.flat().sort((a, b) => a - b)).toEqual(migrations.map((m) => m.version));
      const rows = await pools[0]!.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version");
      expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
      expect(await migrate(pools[1]!)).toEqual([]);
    } finally {
      await Promise.all(pools.map((db) => db.close()));
      await created.drop();
    }
  });
});

describe("PostgreSQL connections", () => {
  it("prefer generic plans for prepared statements, keeping startup options given in DATABASE_URL", async () => {
    const created = await createPostgresDatabase();
    const url = new URL(created.url);
    url.searchParams.set("options", "-c work_mem=8MB");
    const db = openPostgres(url.toString(), { max: 1 });
    try {
      expect(await db.query("SELECT current_setting('plan_cache_mode') AS plans, current_setting('enable_seqscan') AS scans, current_setting('work_mem') AS mem")).toEqual([{ plans: "force_generic_plan", scans: "off", mem: "8MB" }]);
    } finally {
      await db.close();
      await created.drop();
    }
  });
});

describe.each(backends)("ticket numbers on %s", (backend) => {
  it("migration 3 carries each tenant's numbering over from its counter; a new tenant starts at 1; a removed tenant's sequence goes", async () => {
    const t = await testDatabase(backend, { migrate: false });
    try {
      await migrate(t.db, { upTo: 2 });
      await addTenant(t.db, "old");
      await t.db.query("INSERT INTO ticket_counters (tenant_id, last_number) VALUES ('old', 41)");
      expect(await migrate(t.db, { upTo: 3 })).toEqual([3]);
      await addTenant(t.db, "new");
      const next = async (tenant: string) => (await t.db.query<{ n: number }>("SELECT nextval(ticket_number_sequence($1)::regclass) AS n", [tenant]))[0]!.n;
      expect(await next("old")).toBe(42);
      expect(await next("new")).toBe(1);
      expect(await removeTenant(t.db, "new")).toEqual({ removed: true });
      expect(await t.db.query("SELECT 1 FROM pg_class WHERE relname = ticket_number_sequence('new')")).toEqual([]);
    } finally {
      await t.drop();
    }
  });
});

describe.each(backends)("tenants and mailboxes on %s", (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase(backend);
  });
  afterAll(async () => t.drop());

  it("adds, lists and removes tenants; a tenant with a mailbox is not removed", async () => {
    expect(await addTenant(t.db, "globex", "Globex Corp")).toBe(true);
    expect(await addTenant(t.db, "globex")).toBe(false);
    const mailboxes = new Mailboxes(t.db);
    const id = await mailboxes.add({ tenantId: "globex", kind: "google", address: "Help@Globex.example", credentials: { type: "google", clientId: "c", clientSecret: "s", refreshToken: "r" } });
    expect((await listTenants(t.db)).find((x) => x.id === "globex")).toMatchObject({ name: "Globex Corp", mailboxes: 1 });
    expect(await removeTenant(t.db, "globex")).toEqual({ removed: false, reason: "has_mailboxes" });
    await mailboxes.remove(id);
    expect(await removeTenant(t.db, "globex")).toEqual({ removed: true });
    expect(await removeTenant(t.db, "globex")).toEqual({ removed: false, reason: "not_found" });
  });

  it("a mailbox is added with credentials and settings, read through the directory, moves its cursors, and is removed", async () => {
    const mailboxes = new Mailboxes(t.db, { IMAP_PASSWORD: "from-env" });
    const id = await mailboxes.add({ tenantId: "initech", kind: "imap", address: "Support@Initech.example", credentials: { type: "imap", host: "imap.initech.example", port: 993, secure: true, user: "support", password: "env:IMAP_PASSWORD" }, bulkMailOpensTickets: true });
    expect(await mailboxes.get(id)).toEqual({
      providerId: id,
      tenantId: "initech",
      kind: "imap",
      address: "support@initech.example",
      credentials: { type: "imap", host: "imap.initech.example", port: 993, secure: true, user: "support", password: "from-env" },
      cursors: {},
      bulkMailOpensTickets: true,
    });
    await mailboxes.updateCursors(id, { imapUidValidity: "77", imapLastUid: 10 });
    await mailboxes.updateCursors(id, { imapLastUid: 12 });
    expect((await mailboxes.get(id))!.cursors).toEqual({ imapUidValidity: "77", imapLastUid: 12 });
    expect((await mailboxes.list("imap")).map((m) => m.providerId)).toContain(id);
    expect(await mailboxes.remove(id)).toBe(true);
    expect(await mailboxes.get(id)).toBeUndefined();
    expect(await mailboxes.remove(id)).toBe(false);
  });
});
