// Versioned schema migrations, applied at start, once, under an advisory lock so that several
// consumers starting together do not race. Append new versions; never edit an applied one.
// A version is SQL, and may also run code in the same transaction (`run`), for what SQL cannot
// do alone: sealing credentials needs the key ring, which never enters the database.
import type { KeyRing } from "../secrets/key-ring.ts";
import type { Db, Queryable } from "./db.ts";
import { resealAll } from "./sealing.ts";

export interface MigrationContext {
  /** INLET_SECRETS_KEY, when set. */
  secrets: KeyRing | undefined;
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
  run?(tx: Queryable, context: MigrationContext): Promise<void>;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: "tenants, mailboxes, tickets, comments, documents, processed messages",
    sql: `
      CREATE TABLE tenants (
        id text PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE mailbox_providers (
        id text PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenants(id),
        kind text NOT NULL CHECK (kind IN ('microsoft', 'google', 'imap')),
        address text NOT NULL,
        -- How to reach the mailbox. Secrets are referenced (env:NAME) where the operator wants them
        -- outside the database; the consumer resolves references when it reads the row.
        credentials jsonb NOT NULL,
        -- Gmail history id and watch expiry, IMAP UIDVALIDITY and last UID, Graph subscription id,
        -- expiry and clientState: see MailboxCursors in consumer/domain/mailbox.ts.
        cursors jsonb NOT NULL DEFAULT '{}'::jsonb,
        bulk_mail_opens_tickets boolean NOT NULL DEFAULT false,
        status text NOT NULL DEFAULT 'active',
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, kind, address)
      );
      CREATE TABLE contacts (
        id bigserial PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenants(id),
        email text NOT NULL,
        name text,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, email)
      );
      CREATE TABLE ticket_counters (
        tenant_id text PRIMARY KEY REFERENCES tenants(id),
        last_number bigint NOT NULL
      );
      CREATE TABLE tickets (
        id bigserial PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenants(id),
        number bigint NOT NULL,
        subject text NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'closed')),
        requester_id bigint REFERENCES contacts(id),
        mailbox_provider_id text,
        message_id text,
        description_text text NOT NULL,
        description_full_text text NOT NULL,
        description_html text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, number)
      );
      -- Every RFC Message-ID a ticket holds: received, sent, or named in References of its mail.
      CREATE TABLE ticket_message_ids (
        tenant_id text NOT NULL,
        message_id text NOT NULL,
        ticket_id bigint NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
        direction text NOT NULL CHECK (direction IN ('received', 'sent', 'referenced')),
        PRIMARY KEY (tenant_id, message_id)
      );
      CREATE TABLE ticket_comments (
        id bigserial PRIMARY KEY,
        ticket_id bigint NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
        author_id bigint REFERENCES contacts(id),
        body_text text NOT NULL,
        full_text text NOT NULL,
        body_html text,
        is_internal_note boolean NOT NULL DEFAULT false,
        message_id text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX ticket_comments_ticket ON ticket_comments (ticket_id);
      CREATE TABLE documents (
        id bigserial PRIMARY KEY,
        tenant_id text NOT NULL,
        ticket_id bigint NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
        comment_id bigint REFERENCES ticket_comments(id) ON DELETE CASCADE,
        filename text NOT NULL,
        content_type text NOT NULL,
        size integer NOT NULL,
        sha256 text NOT NULL,
        content bytea NOT NULL,
        content_id text,
        inline boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX documents_ticket ON documents (ticket_id);
      -- The idempotency record: written in the same transaction as the effects it stands for.
      CREATE TABLE email_processed_messages (
        id bigserial PRIMARY KEY,
        tenant_id text NOT NULL,
        identity text NOT NULL,
        provider text NOT NULL,
        provider_id text,
        provider_message_id text,
        status text NOT NULL CHECK (status IN ('ticket', 'comment', 'note', 'skipped')),
        reason text,
        ticket_id bigint REFERENCES tickets(id) ON DELETE SET NULL,
        comment_id bigint,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, identity)
      );
    `,
  },
  {
    version: 2,
    name: "processed messages: updated_at (set when an operator redrives or corrects a row)",
    sql: `
      ALTER TABLE email_processed_messages ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
    `,
  },
  {
    version: 3,
    name: "ticket numbers from one sequence per tenant (ticket_numbers_<md5 of tenant id>)",
    // A counter row is locked from the increment to commit, so every new ticket of a tenant
    // waited for the one before it to reach the disk. nextval() waits for nobody. Numbers stay
    // unique and increasing per tenant; one drawn by a transaction that rolls back is not reused.
    // (Function bodies sit on one line: statements here are split at line-ending semicolons.)
    sql: `
      CREATE FUNCTION ticket_number_sequence(tenant text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'ticket_numbers_' || md5(tenant) $$;
      CREATE FUNCTION create_ticket_number_sequence() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', ticket_number_sequence(NEW.id)); RETURN NEW; END $$;
      CREATE FUNCTION drop_ticket_number_sequence() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('DROP SEQUENCE IF EXISTS %I', ticket_number_sequence(OLD.id)); RETURN OLD; END $$;
      CREATE TRIGGER tenants_ticket_numbers AFTER INSERT ON tenants FOR EACH ROW EXECUTE FUNCTION create_ticket_number_sequence();
      CREATE TRIGGER tenants_drop_ticket_numbers AFTER DELETE ON tenants FOR EACH ROW EXECUTE FUNCTION drop_ticket_number_sequence();
      DO $$ DECLARE t record; BEGIN FOR t IN SELECT tenants.id, COALESCE(c.last_number, 0) + 1 AS next FROM tenants LEFT JOIN ticket_counters c ON c.tenant_id = tenants.id LOOP EXECUTE format('CREATE SEQUENCE %I START %s', ticket_number_sequence(t.id), t.next); END LOOP; END $$;
      DROP TABLE ticket_counters;
    `,
  },
  {
    version: 4,
    name: "processed messages by the provider's own id, for the reconciliation sweep",
    sql: `
      CREATE INDEX email_processed_provider_message ON email_processed_messages (provider_id, provider_message_id);
    `,
  },
  {
    version: 5,
    name: "mailboxes: authorisation status, and the jobs parked while it is lost",
    // A mailbox whose grant the provider withdrew needs re-authorisation: its jobs are skipped
    // and parked here, and enqueued again when it is connected again.
    sql: `
      ALTER TABLE mailbox_providers ADD COLUMN auth_status text NOT NULL DEFAULT 'ok' CHECK (auth_status IN ('ok', 'needs_reauthorisation'));
      ALTER TABLE mailbox_providers ADD COLUMN auth_reason text;
      ALTER TABLE mailbox_providers ADD COLUMN auth_changed_at timestamptz;
      CREATE TABLE mailbox_parked_jobs (
        id bigserial PRIMARY KEY,
        provider_id text NOT NULL REFERENCES mailbox_providers(id) ON DELETE CASCADE,
        job jsonb NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX mailbox_parked_jobs_provider ON mailbox_parked_jobs (provider_id, id);
    `,
  },
  {
    version: 6,
    name: "credentials sealed under INLET_SECRETS_KEY (AES-256-GCM), plain rows sealed",
    // Every secret field of every row is sealed under the primary key when INLET_SECRETS_KEY is
    // set. Without it there is nothing to seal with: rows stay as they are until
    // `inlet secrets rotate` runs with a key (the consumer warns about plain rows at start).
    sql: `
      ALTER TABLE mailbox_providers ADD COLUMN credentials_key_id text;
    `,
    async run(tx, { secrets }) {
      if (secrets) await resealAll(tx, secrets);
    },
  },
];

const LOCK_KEY = 727_101; // any constant shared by every Inlet process

/** Apply what is missing (up to `upTo`, for an upgrade test). The advisory lock comes first, before even creating schema_migrations:
 * two processes racing on CREATE TABLE IF NOT EXISTS can still collide in the catalog. */
export async function migrate(db: Db, options: { upTo?: number; secrets?: KeyRing } = {}): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    await tx.query("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    const applied = new Set((await tx.query<{ version: number }>("SELECT version FROM schema_migrations")).map((r) => Number(r.version)));
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version) || m.version > (options.upTo ?? Infinity)) continue;
      for (const statement of m.sql.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean)) await tx.query(statement);
      await m.run?.(tx, { secrets: options.secrets });
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      done.push(m.version);
    }
    return done;
  });
}
