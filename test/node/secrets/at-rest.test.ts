// Credentials at rest on PostgreSQL: what a database dump holds, the migration that seals rows
// written in plain text, rotation to a new key, and the consumer's refusal to start with a key
// ring that cannot open what is stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import type { MailboxCredentials } from "../../../consumer/domain/mailbox.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { migrate } from "../../../consumer/store/migrations.ts";
import { openDatabase } from "../../../consumer/store/open.ts";
import { openPostgres } from "../../../consumer/store/postgres.ts";
import type { Db } from "../../../consumer/store/db.ts";
import { inlet } from "../../support/cli.ts";
import { createPostgresDatabase } from "../../support/database.ts";
import { keyEntry, keyRing } from "../../support/secrets.ts";
import { outcomeOf } from "../../support/outcome.ts";

const SECRETS = {
  graphSecret: "graph-client-secret-Q8~x",
  refreshToken: "1//0refresh-token-value",
  saKey: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-service-account\n-----END PRIVATE KEY-----\n",
  certKey: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-certificate\n-----END PRIVATE KEY-----\n",
  imapPassword: "imap-password-value",
  imapRefresh: "1//0imap-refresh-token",
};

const credentials: { kind: MailboxCredentials["type"]; address: string; credentials: MailboxCredentials }[] = [
  { kind: "microsoft", address: "a@contoso.example", credentials: { type: "microsoft", azureTenantId: "contoso", clientId: "app", clientSecret: SECRETS.graphSecret } },
  { kind: "microsoft", address: "b@contoso.example", credentials: { type: "microsoft", azureTenantId: "contoso", clientId: "app", certificate: { thumbprint: "A".repeat(27), privateKey: SECRETS.certKey } } },
  { kind: "google", address: "c@fabrikam.example", credentials: { type: "google", clientId: "gc", clientSecret: "env:GOOGLE_SECRET", refreshToken: SECRETS.refreshToken } },
  { kind: "google", address: "d@fabrikam.example", credentials: { type: "google", serviceAccount: { clientEmail: "sa@p.iam.gserviceaccount.com", privateKeyId: "kid1", privateKey: SECRETS.saKey } } },
  { kind: "imap", address: "e@tailspin.example", credentials: { type: "imap", host: "imap.example", port: 993, secure: true, user: "e", password: SECRETS.imapPassword } },
  { kind: "imap", address: "f@tailspin.example", credentials: { type: "imap", host: "imap.gmail.com", port: 993, secure: true, user: "f", oauth: { provider: "google", clientId: "gc", clientSecret: "env:GOOGLE_SECRET", refreshToken: SECRETS.imapRefresh } } },
];
const env = { GOOGLE_SECRET: "google-client-secret" };

let database: { url: string; drop(): Promise<void> };
let db: Db;
beforeAll(async () => {
  database = await createPostgresDatabase();
  db = openPostgres(database.url);
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

const dump = async () => (await db.query<{ id: string; text: string; key_id: string | null }>("SELECT id, credentials::text AS text, credentials_key_id AS key_id FROM mailbox_providers ORDER BY id"));
const plainSecretsIn = (text: string) => Object.values(SECRETS).filter((s) => text.includes(s.slice(0, 24)) || text.includes(JSON.stringify(s).slice(1, 25)));

describe("credentials at rest", () => {
  const oldKey = keyEntry("k2025");
  const newKey = keyEntry("k2026");

  it("a row read straight from PostgreSQL holds no plain secret; identifiers and env: references stay readable; the store opens them", async () => {
    await migrate(db);
    const mailboxes = new Mailboxes(db, env, keyRing(oldKey));
    const ids = [];
    for (const c of credentials) ids.push(await mailboxes.add({ tenantId: "acme", ...c }));
    const rows = await dump();
    expect(rows).toHaveLength(credentials.length);
    for (const row of rows) {
      expect(plainSecretsIn(row.text)).toEqual([]);
      expect(row.key_id).toBe("k2025");
    }
    expect(rows.map((r) => r.text).join("\n")).toContain('"clientSecret": "env:GOOGLE_SECRET"');
    expect(rows.map((r) => r.text).join("\n")).toContain('"azureTenantId": "contoso"');
    const opened = await mailboxes.list();
    expect(opened.map((m) => m.credentials)).toEqual(credentials.map((c) => JSON.parse(JSON.stringify(c.credentials).replaceAll("env:GOOGLE_SECRET", "google-client-secret"))));
  });

  it("rotation: with the new key first in the ring, `inlet secrets rotate` seals every row under it; afterwards the new key alone opens every row", async () => {
    const cliEnv = { DATABASE_URL: database.url, INLET_SECRETS_KEY: `${newKey},${oldKey}`, REDIS_URL: inject("redisUrl") };
    const rotated = await inlet(["secrets", "rotate", "--json"], cliEnv);
    expect(rotated.stderr).toBe("");
    expect(JSON.parse(rotated.stdout)).toMatchObject({ resealed: credentials.length, keyId: "k2026", plainRows: 0, unusedKeys: ["k2025"], rowsByKey: [{ keyId: "k2026", rows: credentials.length }] });
    for (const row of await dump()) {
      expect(row.key_id).toBe("k2026");
      expect(row.text).not.toContain("inlet:v1:k2025:");
      expect(plainSecretsIn(row.text)).toEqual([]);
    }
    const mailboxes = new Mailboxes(db, env, keyRing(newKey));
    expect((await mailboxes.list()).map((m) => m.credentials)).toHaveLength(credentials.length);
    const status = await inlet(["secrets", "status", "--json"], { ...cliEnv, INLET_SECRETS_KEY: newKey });
    expect(JSON.parse(status.stdout)).toMatchObject({ ring: ["k2026"], sealingKey: "k2026", plainRows: 0 });
  });

  it("the consumer refuses to start without a key ring, with a ring that lacks the key, or with the wrong key under the right name, and says which", async () => {
    const start = (key?: string) => inlet(["consumer"], { DATABASE_URL: database.url, REDIS_URL: inject("redisUrl"), INLET_IMAP_LISTENER: "0", INLET_SECRETS_KEY: key ?? "" }, 30_000);
    const expectations: [string | undefined, RegExp][] = [
      [undefined, /sealed under key \\"k2026\\", and INLET_SECRETS_KEY is not set/],
      [oldKey, /sealed under key \\"k2026\\", which INLET_SECRETS_KEY does not hold/],
      [keyEntry("k2026"), /key \\"k2026\\" does not open the credentials sealed under that name/],
    ];
    for (const [key, message] of expectations) {
      const result = await start(key);
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).toMatch(message);
      expect(result.stdout).toContain("inbound_email_consumer_start_failed");
    }
    await expect(openDatabase({ databaseUrl: database.url, dataDir: "", secrets: keyRing(keyEntry("k2026")) })).rejects.toMatchObject({ code: "secrets_key_wrong" });
  });

  it("a tampered ciphertext in the database is refused when the mailbox is read (GCM tag), not turned into a wrong credential", async () => {
    const [row] = await dump();
    const tampered = row!.text.replace(/(inlet:v1:k2026:[A-Za-z0-9_-]{16}:)([A-Za-z0-9_-])/, (_all, head: string, c: string) => `${head}${c === "A" ? "B" : "A"}`);
    expect(tampered).not.toBe(row!.text);
    await db.query("UPDATE mailbox_providers SET credentials = $2::jsonb WHERE id = $1", [row!.id, tampered]);
    const mailboxes = new Mailboxes(db, env, keyRing(newKey));
    expect(await outcomeOf(mailboxes.get(row!.id))).toBe("dead_letter:secrets_decrypt_failed");
  });
});

describe("the migration that introduced sealing", () => {
  it("seals the secrets of rows written in plain text before it; without a key it leaves them, and the status says so", async () => {
    for (const withKey of [true, false]) {
      const created = await createPostgresDatabase();
      const old = openPostgres(created.url);
      try {
        await migrate(old, { upTo: 7 });
        await old.query("INSERT INTO tenants (id, name) VALUES ('acme', 'acme')");
        for (const [i, c] of credentials.entries()) {
          await old.query("INSERT INTO mailbox_providers (id, tenant_id, kind, address, credentials) VALUES ($1, 'acme', $2, $3, $4::jsonb)", [`legacy-${i}`, c.kind, c.address, JSON.stringify(c.credentials)]);
        }
        const ring = keyRing(keyEntry("k1"));
        expect(await migrate(old, withKey ? { upTo: 8, secrets: ring } : { upTo: 8 })).toEqual([8]);
        const rows = await old.query<{ text: string }>("SELECT credentials::text AS text FROM mailbox_providers");
        const plain = rows.filter((r) => plainSecretsIn(r.text).length > 0).length;
        if (withKey) {
          expect(plain).toBe(0);
          expect((await new Mailboxes(old, env, ring).list()).map((m) => m.credentials)).toHaveLength(credentials.length);
        } else {
          expect(plain).toBe(credentials.length);
          const status = await inlet(["secrets", "status", "--json"], { DATABASE_URL: created.url, INLET_SECRETS_KEY: "" });
          expect(JSON.parse(status.stdout)).toMatchObject({ plainRows: credentials.length });
        }
      } finally {
        await old.close();
        await created.drop();
      }
    }
  });
});
