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
    name: "apply_message(): what a message becomes, in one function (threading under an advisory lock per Message-ID)",
    // Everything a message becomes, as one function called with one constant statement
    // (consumer/processing/apply.ts). Steps, in order:
    // 1. Lock the message's identity and every Message-ID of its thread (its own, In-Reply-To,
    //    References) in a fixed order: a parent and its reply processed at the same time share an
    //    id, so one waits for the other to commit. Each later statement of the function takes a
    //    fresh snapshot (READ COMMITTED), so the one that waited sees what the other wrote and
    //    threads onto it. Locks are taken before anything is written, in sorted order, so two
    //    messages never wait for each other's locks (no deadlock); a hash collision only makes
    //    two unrelated messages take turns.
    // 2. A message already claimed reports what it became (claimed = false).
    // 3. The thread: the first of its ids (In-Reply-To, References newest first, own id) that a
    //    ticket holds, else the ticket its subject token names.
    // 4. The decision (the only place it is made): loops, bounces and messages too large to parse
    //    are skipped whatever the thread; an auto-reply is an internal note on a live ticket, else
    //    skipped; a message whose thread has a ticket is a comment (and reopens it); bulk mail the
    //    mailbox does not take is skipped; anything else opens a ticket.
    // 5. The effects: the sender's contact (unless the caller names it), the ticket with the
    //    tenant's next number or the comment, every Message-ID the message names recorded against
    //    the ticket, the documents, the note about dropped attachments.
    // 6. The claim in email_processed_messages, last, with the ids it stands for. Under the lock
    //    nobody else claims the identity meanwhile; a writer that took no lock makes this INSERT
    //    fail (unique violation), which rolls every effect back for a retry.
    // Documents arrive as parallel arrays, their bytes concatenated into one bytea in the same
    // order (p_document_sizes cuts it), so the bytes travel in binary (a bytea[] goes as hex text).
    sql: `
      CREATE FUNCTION apply_message(
        p_tenant_id text,
        p_identity text,
        p_provider text,
        p_provider_id text,
        p_provider_message_id text,
        -- normal | auto_reply | bounce | loop | message_too_large (not parsed)
        p_classification text,
        -- list or bulk mail, and whether the mailbox lets such mail open tickets
        p_bulk boolean,
        p_bulk_opens_tickets boolean,
        -- In-Reply-To, References newest first, the message's own id: in order of preference
        p_thread_ids text[],
        -- the ticket number of a subject token such as [#123], or NULL
        p_ticket_number bigint,
        p_message_id text,
        p_subject text,
        p_author_email text,
        p_author_name text,
        -- the sender's contact when the caller already knows it, else NULL
        p_requester_id bigint,
        p_text text,
        -- the text before quoted history was stripped; NULL when it is p_text
        p_full_text text,
        p_html text,
        p_note text,
        p_document_filenames text[],
        p_document_content_types text[],
        p_document_sizes integer[],
        p_document_sha256 text[],
        p_document_content_ids text[],
        p_document_inline boolean[],
        p_document_contents bytea,
        OUT claimed boolean,
        OUT outcome text,
        OUT outcome_reason text,
        OUT ticket bigint,
        OUT comment bigint,
        OUT requester bigint)
      LANGUAGE plpgsql AS $$
      DECLARE
        found_ticket bigint;
        found_status text;
        known_name text;
      BEGIN
        IF p_classification NOT IN ('normal', 'auto_reply', 'bounce', 'loop', 'message_too_large') THEN
          RAISE EXCEPTION 'apply_message: unknown classification %', p_classification USING ERRCODE = 'invalid_parameter_value';
        END IF;

        -- 1. Lock the identity and the thread's ids (727102: Inlet's advisory lock class for Message-IDs).
        PERFORM pg_advisory_xact_lock(727102, k)
          FROM (SELECT DISTINCT hashtext(p_tenant_id || ' ' || id) AS k FROM unnest(p_thread_ids || p_identity) AS id ORDER BY k) keys;

        -- 2. Claimed before: report it.
        SELECT false, e.status, e.reason, e.ticket_id, e.comment_id INTO claimed, outcome, outcome_reason, ticket, comment
          FROM email_processed_messages e WHERE e.tenant_id = p_tenant_id AND e.identity = p_identity;
        IF FOUND THEN
          RETURN;
        END IF;

        -- 3. The thread: one primary-key lookup per id (the LIMIT keeps the lookup a subquery of
        --    its own). Written as "message_id = ANY (ids)" or as a plain join, the generic plan, made
        --    once per connection and often while the table is small, reads every Message-ID of the
        --    tenant instead, which costs more with every message stored.
        IF p_classification IN ('normal', 'auto_reply') THEN
          SELECT t.id, t.status INTO found_ticket, found_status
            FROM (SELECT m.ticket_id, k.rank
                    FROM unnest(p_thread_ids) WITH ORDINALITY AS k(id, rank)
                    CROSS JOIN LATERAL (SELECT ticket_id FROM ticket_message_ids WHERE tenant_id = p_tenant_id AND message_id = k.id LIMIT 1) m
                  UNION ALL
                  SELECT n.id, 2147483647 FROM tickets n WHERE n.tenant_id = p_tenant_id AND n.number = p_ticket_number) c
            JOIN tickets t ON t.id = c.ticket_id
           ORDER BY c.rank LIMIT 1;
        END IF;

        -- 4. The decision.
        IF p_classification IN ('loop', 'bounce', 'message_too_large') THEN
          outcome := 'skipped';
          outcome_reason := p_classification;
        ELSIF p_classification = 'auto_reply' THEN
          IF found_ticket IS NOT NULL AND found_status <> 'closed' THEN
            outcome := 'note';
          ELSE
            outcome := 'skipped';
            outcome_reason := 'auto_reply';
          END IF;
        ELSIF found_ticket IS NOT NULL THEN
          outcome := 'comment';
        ELSIF p_bulk AND NOT p_bulk_opens_tickets THEN
          outcome := 'skipped';
          outcome_reason := 'bulk_mail';
        ELSE
          outcome := 'ticket';
        END IF;

        -- 5. The effects.
        IF outcome <> 'skipped' THEN
          -- The sender: a known contact is read, not locked; only a new one is inserted (the upsert
          -- covers a concurrent first insert of the same address); a name is learnt only where none
          -- was known, since agents may have corrected it.
          requester := p_requester_id;
          IF requester IS NULL AND p_author_email IS NOT NULL THEN
            SELECT c.id, c.name INTO requester, known_name FROM contacts c WHERE c.tenant_id = p_tenant_id AND c.email = p_author_email;
            IF NOT FOUND THEN
              INSERT INTO contacts (tenant_id, email, name) VALUES (p_tenant_id, p_author_email, p_author_name)
                ON CONFLICT (tenant_id, email) DO UPDATE SET name = COALESCE(contacts.name, EXCLUDED.name)
                RETURNING id INTO requester;
            ELSIF known_name IS NULL AND p_author_name IS NOT NULL THEN
              UPDATE contacts SET name = p_author_name WHERE id = requester AND name IS NULL;
            END IF;
          END IF;

          IF outcome = 'ticket' THEN
            INSERT INTO tickets (tenant_id, number, subject, requester_id, mailbox_provider_id, message_id, description_text, description_full_text, description_html)
              VALUES (p_tenant_id, nextval(ticket_number_sequence(p_tenant_id)::regclass), p_subject, requester, p_provider_id, p_message_id, p_text, COALESCE(p_full_text, p_text), p_html)
              RETURNING id INTO ticket;
          ELSE
            ticket := found_ticket;
            INSERT INTO ticket_comments (ticket_id, author_id, body_text, full_text, body_html, is_internal_note, message_id)
              VALUES (ticket, requester, p_text, COALESCE(p_full_text, p_text), p_html, outcome = 'note', p_message_id)
              RETURNING id INTO comment;
          END IF;
        END IF;

        -- A customer's reply reopens a pending or closed ticket and carries its ids, documents and
        -- note; an out-of-office note carries nothing and leaves the ticket be.
        IF outcome IN ('ticket', 'comment') THEN
          IF outcome = 'comment' THEN
            UPDATE tickets SET status = 'open', updated_at = now() WHERE id = ticket;
          END IF;
          INSERT INTO ticket_message_ids (tenant_id, message_id, ticket_id, direction)
            SELECT p_tenant_id, id, ticket, CASE WHEN id = p_message_id THEN 'received' ELSE 'referenced' END FROM unnest(p_thread_ids) AS id
            ON CONFLICT (tenant_id, message_id) DO NOTHING;
          IF cardinality(p_document_filenames) > 0 THEN
            INSERT INTO documents (tenant_id, ticket_id, comment_id, filename, content_type, size, sha256, content, content_id, inline)
              SELECT p_tenant_id, ticket, comment, d.filename, d.content_type, d.size, d.sha256,
                     substring(p_document_contents FROM (sum(d.size) OVER (ORDER BY d.n) - d.size + 1)::integer FOR d.size), d.content_id, d.inline
                FROM unnest(p_document_filenames, p_document_content_types, p_document_sizes, p_document_sha256, p_document_content_ids, p_document_inline)
                     WITH ORDINALITY AS d(filename, content_type, size, sha256, content_id, inline, n);
          END IF;
          IF p_note IS NOT NULL THEN
            INSERT INTO ticket_comments (ticket_id, body_text, full_text, is_internal_note) VALUES (ticket, p_note, p_note, true);
          END IF;
        END IF;

        -- 6. The claim.
        INSERT INTO email_processed_messages (tenant_id, identity, provider, provider_id, provider_message_id, status, reason, ticket_id, comment_id)
          VALUES (p_tenant_id, p_identity, p_provider, p_provider_id, p_provider_message_id, outcome, outcome_reason, ticket, comment);
        claimed := true;
      END
      $$;
    `,
  },
  {
    version: 5,
    name: "processed messages by the provider's own id, for the reconciliation sweep",
    sql: `
      CREATE INDEX email_processed_provider_message ON email_processed_messages (provider_id, provider_message_id);
    `,
  },
  {
    version: 6,
    name: "apply_message(): feedback reports and precise skip reasons; suspicious senders marked, never threaded by subject token",
    // The function of migration 4, with three parameters more: p_skip_reason (a delay notice is
    // skipped as delivery_delayed, not as a bounce), p_suspicious and p_suspicious_reason (stored on
    // the ticket or comment; a suspicious message threads only by Message-ID, since anyone can
    // write a ticket token into a subject). feedback_report is a class of its own, skipped.
    sql: `
      ALTER TABLE tickets ADD COLUMN suspicious boolean NOT NULL DEFAULT false, ADD COLUMN suspicious_reason text;
      ALTER TABLE ticket_comments ADD COLUMN suspicious boolean NOT NULL DEFAULT false, ADD COLUMN suspicious_reason text;
      DROP FUNCTION apply_message(text, text, text, text, text, text, boolean, boolean, text[], bigint, text, text, text, text, bigint, text, text, text, text, text[], text[], integer[], text[], text[], boolean[], bytea);
      CREATE FUNCTION apply_message(
        p_tenant_id text,
        p_identity text,
        p_provider text,
        p_provider_id text,
        p_provider_message_id text,
        -- normal | auto_reply | bounce | loop | feedback_report | message_too_large (not parsed)
        p_classification text,
        -- why a skipped class is skipped, when more precise than the class (delivery_delayed,
        -- delivery_report); NULL: the class names it
        p_skip_reason text,
        -- the receiving provider's sender check failed (DMARC, or SPF with no DKIM pass): the
        -- message is marked, and never threads onto a ticket by its subject token alone
        p_suspicious boolean,
        p_suspicious_reason text,
        -- list or bulk mail, and whether the mailbox lets such mail open tickets
        p_bulk boolean,
        p_bulk_opens_tickets boolean,
        -- In-Reply-To, References newest first, the message's own id: in order of preference
        p_thread_ids text[],
        -- the ticket number of a subject token such as [#123], or NULL
        p_ticket_number bigint,
        p_message_id text,
        p_subject text,
        p_author_email text,
        p_author_name text,
        -- the sender's contact when the caller already knows it, else NULL
        p_requester_id bigint,
        p_text text,
        -- the text before quoted history was stripped; NULL when it is p_text
        p_full_text text,
        p_html text,
        p_note text,
        p_document_filenames text[],
        p_document_content_types text[],
        p_document_sizes integer[],
        p_document_sha256 text[],
        p_document_content_ids text[],
        p_document_inline boolean[],
        p_document_contents bytea,
        OUT claimed boolean,
        OUT outcome text,
        OUT outcome_reason text,
        OUT ticket bigint,
        OUT comment bigint,
        OUT requester bigint)
      LANGUAGE plpgsql AS $$
      DECLARE
        found_ticket bigint;
        found_status text;
        known_name text;
      BEGIN
        IF p_classification NOT IN ('normal', 'auto_reply', 'bounce', 'loop', 'feedback_report', 'message_too_large') THEN
          RAISE EXCEPTION 'apply_message: unknown classification %', p_classification USING ERRCODE = 'invalid_parameter_value';
        END IF;

        -- 1. Lock the identity and the thread's ids (727102: Inlet's advisory lock class for Message-IDs).
        PERFORM pg_advisory_xact_lock(727102, k)
          FROM (SELECT DISTINCT hashtext(p_tenant_id || ' ' || id) AS k FROM unnest(p_thread_ids || p_identity) AS id ORDER BY k) keys;

        -- 2. Claimed before: report it.
        SELECT false, e.status, e.reason, e.ticket_id, e.comment_id INTO claimed, outcome, outcome_reason, ticket, comment
          FROM email_processed_messages e WHERE e.tenant_id = p_tenant_id AND e.identity = p_identity;
        IF FOUND THEN
          RETURN;
        END IF;

        -- 3. The thread: one primary-key lookup per id (the LIMIT keeps the lookup a subquery of
        --    its own). Written as "message_id = ANY (ids)" or as a plain join, the generic plan, made
        --    once per connection and often while the table is small, reads every Message-ID of the
        --    tenant instead, which costs more with every message stored.
        IF p_classification IN ('normal', 'auto_reply') THEN
          SELECT t.id, t.status INTO found_ticket, found_status
            FROM (SELECT m.ticket_id, k.rank
                    FROM unnest(p_thread_ids) WITH ORDINALITY AS k(id, rank)
                    CROSS JOIN LATERAL (SELECT ticket_id FROM ticket_message_ids WHERE tenant_id = p_tenant_id AND message_id = k.id LIMIT 1) m
                  UNION ALL
                  SELECT n.id, 2147483647 FROM tickets n WHERE n.tenant_id = p_tenant_id AND n.number = p_ticket_number AND NOT p_suspicious) c
            JOIN tickets t ON t.id = c.ticket_id
           ORDER BY c.rank LIMIT 1;
        END IF;

        -- 4. The decision.
        IF p_classification IN ('loop', 'bounce', 'feedback_report', 'message_too_large') THEN
          outcome := 'skipped';
          outcome_reason := COALESCE(p_skip_reason, p_classification);
        ELSIF p_classification = 'auto_reply' THEN
          IF found_ticket IS NOT NULL AND found_status <> 'closed' THEN
            outcome := 'note';
          ELSE
            outcome := 'skipped';
            outcome_reason := 'auto_reply';
          END IF;
        ELSIF found_ticket IS NOT NULL THEN
          outcome := 'comment';
        ELSIF p_bulk AND NOT p_bulk_opens_tickets THEN
          outcome := 'skipped';
          outcome_reason := 'bulk_mail';
        ELSE
          outcome := 'ticket';
        END IF;

        -- 5. The effects.
        IF outcome <> 'skipped' THEN
          -- The sender: a known contact is read, not locked; only a new one is inserted (the upsert
          -- covers a concurrent first insert of the same address); a name is learnt only where none
          -- was known, since agents may have corrected it.
          requester := p_requester_id;
          IF requester IS NULL AND p_author_email IS NOT NULL THEN
            SELECT c.id, c.name INTO requester, known_name FROM contacts c WHERE c.tenant_id = p_tenant_id AND c.email = p_author_email;
            IF NOT FOUND THEN
              INSERT INTO contacts (tenant_id, email, name) VALUES (p_tenant_id, p_author_email, p_author_name)
                ON CONFLICT (tenant_id, email) DO UPDATE SET name = COALESCE(contacts.name, EXCLUDED.name)
                RETURNING id INTO requester;
            ELSIF known_name IS NULL AND p_author_name IS NOT NULL THEN
              UPDATE contacts SET name = p_author_name WHERE id = requester AND name IS NULL;
            END IF;
          END IF;

          IF outcome = 'ticket' THEN
            INSERT INTO tickets (tenant_id, number, subject, requester_id, mailbox_provider_id, message_id, description_text, description_full_text, description_html, suspicious, suspicious_reason)
              VALUES (p_tenant_id, nextval(ticket_number_sequence(p_tenant_id)::regclass), p_subject, requester, p_provider_id, p_message_id, p_text, COALESCE(p_full_text, p_text), p_html, p_suspicious, p_suspicious_reason)
              RETURNING id INTO ticket;
          ELSE
            ticket := found_ticket;
            INSERT INTO ticket_comments (ticket_id, author_id, body_text, full_text, body_html, is_internal_note, message_id, suspicious, suspicious_reason)
              VALUES (ticket, requester, p_text, COALESCE(p_full_text, p_text), p_html, outcome = 'note', p_message_id, p_suspicious, p_suspicious_reason)
              RETURNING id INTO comment;
          END IF;
        END IF;

        -- A customer's reply reopens a pending or closed ticket and carries its ids, documents and
        -- note; an out-of-office note carries nothing and leaves the ticket be.
        IF outcome IN ('ticket', 'comment') THEN
          IF outcome = 'comment' THEN
            UPDATE tickets SET status = 'open', updated_at = now() WHERE id = ticket;
          END IF;
          INSERT INTO ticket_message_ids (tenant_id, message_id, ticket_id, direction)
            SELECT p_tenant_id, id, ticket, CASE WHEN id = p_message_id THEN 'received' ELSE 'referenced' END FROM unnest(p_thread_ids) AS id
            ON CONFLICT (tenant_id, message_id) DO NOTHING;
          IF cardinality(p_document_filenames) > 0 THEN
            INSERT INTO documents (tenant_id, ticket_id, comment_id, filename, content_type, size, sha256, content, content_id, inline)
              SELECT p_tenant_id, ticket, comment, d.filename, d.content_type, d.size, d.sha256,
                     substring(p_document_contents FROM (sum(d.size) OVER (ORDER BY d.n) - d.size + 1)::integer FOR d.size), d.content_id, d.inline
                FROM unnest(p_document_filenames, p_document_content_types, p_document_sizes, p_document_sha256, p_document_content_ids, p_document_inline)
                     WITH ORDINALITY AS d(filename, content_type, size, sha256, content_id, inline, n);
          END IF;
          IF p_note IS NOT NULL THEN
            INSERT INTO ticket_comments (ticket_id, body_text, full_text, is_internal_note) VALUES (ticket, p_note, p_note, true);
          END IF;
        END IF;

        -- 6. The claim.
        INSERT INTO email_processed_messages (tenant_id, identity, provider, provider_id, provider_message_id, status, reason, ticket_id, comment_id)
          VALUES (p_tenant_id, p_identity, p_provider, p_provider_id, p_provider_message_id, outcome, outcome_reason, ticket, comment);
        claimed := true;
      END
      $$;
    `,
  },
  {
    version: 7,
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
    version: 8,
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
  {
    version: 9,
    name: "delivery: webhook endpoints, the event outbox written by apply_message(), webhook deliveries, API tokens",
    // The outbox: apply_message() (migration 6's body, with step 6 added) writes each message's
    // event in the transaction of its effect, and one delivery row per endpoint that takes it.
    // Deliveries are claimed by consumer/delivery/deliverer.ts (FOR UPDATE SKIP LOCKED and a
    // lease); events are also read as a pull feed (GET /v1/events), in (txid, seq) order: only
    // events of transactions older than every one still running are served, so a cursor never
    // passes an event that commits later.
    sql: `
      CREATE TABLE webhook_endpoints (
        id text PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenants(id),
        url text NOT NULL,
        -- NULL: the ticket events (ticket.created, ticket.replied, ticket.noted)
        event_types text[],
        -- whsec_<base64>, sealed under INLET_SECRETS_KEY when one is set (secret_key_id names the key)
        secret text NOT NULL,
        secret_key_id text,
        -- after rotate-secret, the old secret keeps signing until previous_secret_until
        previous_secret text,
        previous_secret_key_id text,
        previous_secret_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id);
      CREATE TABLE delivery_events (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        tenant_id text NOT NULL,
        type text NOT NULL CHECK (type IN ('ticket.created', 'ticket.replied', 'ticket.noted', 'message.skipped')),
        mailbox_provider_id text,
        ticket_id bigint REFERENCES tickets(id) ON DELETE CASCADE,
        ticket_number bigint,
        ticket_status text,
        comment_id bigint,
        reason text,
        message jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX delivery_events_feed ON delivery_events (tenant_id, txid, seq);
      CREATE TABLE webhook_deliveries (
        id bigserial PRIMARY KEY,
        event_seq bigint NOT NULL REFERENCES delivery_events(seq) ON DELETE CASCADE,
        endpoint_id text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        -- the ordering key: an endpoint gets a ticket's events one at a time, in seq order
        ticket_id bigint,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        -- where the retry window (24 h by default) starts: the event, or the operator's redeliver
        retry_from timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        lease_token text,
        last_status integer,
        last_error text,
        last_attempt_at timestamptz,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (endpoint_id, event_seq)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at, id) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_open ON webhook_deliveries (endpoint_id, ticket_id, id) WHERE status <> 'delivered';
      CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (id) WHERE status = 'failed';
      CREATE TABLE api_tokens (
        id text PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenants(id),
        -- sha256 of the token, hex; the token itself is shown once
        token_hash text NOT NULL UNIQUE,
        name text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz
      );
      DROP FUNCTION apply_message(text, text, text, text, text, text, text, boolean, text, boolean, boolean, text[], bigint, text, text, text, text, bigint, text, text, text, text, text[], text[], integer[], text[], text[], boolean[], bytea);
      CREATE FUNCTION apply_message(
        p_tenant_id text,
        p_identity text,
        p_provider text,
        p_provider_id text,
        p_provider_message_id text,
        -- normal | auto_reply | bounce | loop | feedback_report | message_too_large (not parsed)
        p_classification text,
        -- why a skipped class is skipped, when more precise than the class (delivery_delayed,
        -- delivery_report); NULL: the class names it
        p_skip_reason text,
        -- the receiving provider's sender check failed (DMARC, or SPF with no DKIM pass): the
        -- message is marked, and never threads onto a ticket by its subject token alone
        p_suspicious boolean,
        p_suspicious_reason text,
        -- list or bulk mail, and whether the mailbox lets such mail open tickets
        p_bulk boolean,
        p_bulk_opens_tickets boolean,
        -- In-Reply-To, References newest first, the message's own id: in order of preference
        p_thread_ids text[],
        -- the ticket number of a subject token such as [#123], or NULL
        p_ticket_number bigint,
        p_message_id text,
        p_subject text,
        p_author_email text,
        p_author_name text,
        -- the sender's contact when the caller already knows it, else NULL
        p_requester_id bigint,
        p_text text,
        -- the text before quoted history was stripped; NULL when it is p_text
        p_full_text text,
        p_html text,
        p_note text,
        p_document_filenames text[],
        p_document_content_types text[],
        p_document_sizes integer[],
        p_document_sha256 text[],
        p_document_content_ids text[],
        p_document_inline boolean[],
        p_document_contents bytea,
        -- what the event announces of the message (delivery/message-summary.ts): its headers,
        -- classification and sender check; the bodies and documents are read from their rows
        p_event_message jsonb,
        OUT claimed boolean,
        OUT outcome text,
        OUT outcome_reason text,
        OUT ticket bigint,
        OUT comment bigint,
        OUT requester bigint,
        -- webhook deliveries this message queued (0 for a redelivery)
        OUT deliveries integer)
      LANGUAGE plpgsql AS $$
      DECLARE
        found_ticket bigint;
        found_status text;
        known_name text;
        event_type text;
        event_seq bigint;
      BEGIN
        deliveries := 0;
        IF p_classification NOT IN ('normal', 'auto_reply', 'bounce', 'loop', 'feedback_report', 'message_too_large') THEN
          RAISE EXCEPTION 'apply_message: unknown classification %', p_classification USING ERRCODE = 'invalid_parameter_value';
        END IF;

        -- 1. Lock the identity and the thread's ids (727102: Inlet's advisory lock class for Message-IDs).
        PERFORM pg_advisory_xact_lock(727102, k)
          FROM (SELECT DISTINCT hashtext(p_tenant_id || ' ' || id) AS k FROM unnest(p_thread_ids || p_identity) AS id ORDER BY k) keys;

        -- 2. Claimed before: report it.
        SELECT false, e.status, e.reason, e.ticket_id, e.comment_id INTO claimed, outcome, outcome_reason, ticket, comment
          FROM email_processed_messages e WHERE e.tenant_id = p_tenant_id AND e.identity = p_identity;
        IF FOUND THEN
          RETURN;
        END IF;

        -- 3. The thread: one primary-key lookup per id (the LIMIT keeps the lookup a subquery of
        --    its own). Written as "message_id = ANY (ids)" or as a plain join, the generic plan, made
        --    once per connection and often while the table is small, reads every Message-ID of the
        --    tenant instead, which costs more with every message stored.
        IF p_classification IN ('normal', 'auto_reply') THEN
          SELECT t.id, t.status INTO found_ticket, found_status
            FROM (SELECT m.ticket_id, k.rank
                    FROM unnest(p_thread_ids) WITH ORDINALITY AS k(id, rank)
                    CROSS JOIN LATERAL (SELECT ticket_id FROM ticket_message_ids WHERE tenant_id = p_tenant_id AND message_id = k.id LIMIT 1) m
                  UNION ALL
                  SELECT n.id, 2147483647 FROM tickets n WHERE n.tenant_id = p_tenant_id AND n.number = p_ticket_number AND NOT p_suspicious) c
            JOIN tickets t ON t.id = c.ticket_id
           ORDER BY c.rank LIMIT 1;
        END IF;

        -- 4. The decision.
        IF p_classification IN ('loop', 'bounce', 'feedback_report', 'message_too_large') THEN
          outcome := 'skipped';
          outcome_reason := COALESCE(p_skip_reason, p_classification);
        ELSIF p_classification = 'auto_reply' THEN
          IF found_ticket IS NOT NULL AND found_status <> 'closed' THEN
            outcome := 'note';
          ELSE
            outcome := 'skipped';
            outcome_reason := 'auto_reply';
          END IF;
        ELSIF found_ticket IS NOT NULL THEN
          outcome := 'comment';
        ELSIF p_bulk AND NOT p_bulk_opens_tickets THEN
          outcome := 'skipped';
          outcome_reason := 'bulk_mail';
        ELSE
          outcome := 'ticket';
        END IF;

        -- 5. The effects.
        IF outcome <> 'skipped' THEN
          -- The sender: a known contact is read, not locked; only a new one is inserted (the upsert
          -- covers a concurrent first insert of the same address); a name is learnt only where none
          -- was known, since agents may have corrected it.
          requester := p_requester_id;
          IF requester IS NULL AND p_author_email IS NOT NULL THEN
            SELECT c.id, c.name INTO requester, known_name FROM contacts c WHERE c.tenant_id = p_tenant_id AND c.email = p_author_email;
            IF NOT FOUND THEN
              INSERT INTO contacts (tenant_id, email, name) VALUES (p_tenant_id, p_author_email, p_author_name)
                ON CONFLICT (tenant_id, email) DO UPDATE SET name = COALESCE(contacts.name, EXCLUDED.name)
                RETURNING id INTO requester;
            ELSIF known_name IS NULL AND p_author_name IS NOT NULL THEN
              UPDATE contacts SET name = p_author_name WHERE id = requester AND name IS NULL;
            END IF;
          END IF;

          IF outcome = 'ticket' THEN
            INSERT INTO tickets (tenant_id, number, subject, requester_id, mailbox_provider_id, message_id, description_text, description_full_text, description_html, suspicious, suspicious_reason)
              VALUES (p_tenant_id, nextval(ticket_number_sequence(p_tenant_id)::regclass), p_subject, requester, p_provider_id, p_message_id, p_text, COALESCE(p_full_text, p_text), p_html, p_suspicious, p_suspicious_reason)
              RETURNING id INTO ticket;
          ELSE
            ticket := found_ticket;
            INSERT INTO ticket_comments (ticket_id, author_id, body_text, full_text, body_html, is_internal_note, message_id, suspicious, suspicious_reason)
              VALUES (ticket, requester, p_text, COALESCE(p_full_text, p_text), p_html, outcome = 'note', p_message_id, p_suspicious, p_suspicious_reason)
              RETURNING id INTO comment;
          END IF;
        END IF;

        -- A customer's reply reopens a pending or closed ticket and carries its ids, documents and
        -- note; an out-of-office note carries nothing and leaves the ticket be.
        IF outcome IN ('ticket', 'comment') THEN
          IF outcome = 'comment' THEN
            UPDATE tickets SET status = 'open', updated_at = now() WHERE id = ticket;
          END IF;
          INSERT INTO ticket_message_ids (tenant_id, message_id, ticket_id, direction)
            SELECT p_tenant_id, id, ticket, CASE WHEN id = p_message_id THEN 'received' ELSE 'referenced' END FROM unnest(p_thread_ids) AS id
            ON CONFLICT (tenant_id, message_id) DO NOTHING;
          IF cardinality(p_document_filenames) > 0 THEN
            INSERT INTO documents (tenant_id, ticket_id, comment_id, filename, content_type, size, sha256, content, content_id, inline)
              SELECT p_tenant_id, ticket, comment, d.filename, d.content_type, d.size, d.sha256,
                     substring(p_document_contents FROM (sum(d.size) OVER (ORDER BY d.n) - d.size + 1)::integer FOR d.size), d.content_id, d.inline
                FROM unnest(p_document_filenames, p_document_content_types, p_document_sizes, p_document_sha256, p_document_content_ids, p_document_inline)
                     WITH ORDINALITY AS d(filename, content_type, size, sha256, content_id, inline, n);
          END IF;
          IF p_note IS NOT NULL THEN
            INSERT INTO ticket_comments (ticket_id, body_text, full_text, is_internal_note) VALUES (ticket, p_note, p_note, true);
          END IF;
        END IF;

        -- 6. The event and its deliveries (migration 9): one per message that had an effect, and for a
        --    skip only when an endpoint of the tenant asks for message.skipped. Its id is derived from
        --    the identity, so it is the same whatever delivery of the mail applied it. Events of one
        --    ticket take their seq in commit order: the ticket row is held (inserted, updated by the
        --    reply, or locked here for a note) from here to commit.
        IF outcome <> 'skipped' THEN
          event_type := CASE outcome WHEN 'ticket' THEN 'ticket.created' WHEN 'comment' THEN 'ticket.replied' ELSE 'ticket.noted' END;
        ELSIF EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.tenant_id = p_tenant_id AND 'message.skipped' = ANY (w.event_types)) THEN
          event_type := 'message.skipped';
        END IF;
        IF event_type IS NOT NULL THEN
          IF outcome = 'note' THEN
            PERFORM 1 FROM tickets WHERE id = ticket FOR UPDATE;
          END IF;
          INSERT INTO delivery_events (id, tenant_id, type, mailbox_provider_id, ticket_id, ticket_number, ticket_status, comment_id, reason, message)
            SELECT 'evt_' || substr(encode(sha256(convert_to(p_tenant_id || ' ' || p_identity || ' ' || event_type, 'UTF8')), 'hex'), 1, 32),
                   p_tenant_id, event_type, p_provider_id, ticket, t.number, t.status, comment, outcome_reason, p_event_message
              FROM (SELECT 1) one LEFT JOIN tickets t ON t.id = ticket
            RETURNING seq INTO event_seq;
          INSERT INTO webhook_deliveries (event_seq, endpoint_id, ticket_id)
            SELECT event_seq, w.id, ticket FROM webhook_endpoints w
             WHERE w.tenant_id = p_tenant_id AND event_type = ANY (COALESCE(w.event_types, ARRAY['ticket.created', 'ticket.replied', 'ticket.noted']));
          GET DIAGNOSTICS deliveries = ROW_COUNT;
        END IF;

        -- 7. The claim.
        INSERT INTO email_processed_messages (tenant_id, identity, provider, provider_id, provider_message_id, status, reason, ticket_id, comment_id)
          VALUES (p_tenant_id, p_identity, p_provider, p_provider_id, p_provider_message_id, outcome, outcome_reason, ticket, comment);
        claimed := true;
      END
      $$;
    `,
  },
  {
    version: 10,
    name: "mailbox health: last notification, last message, last error, consecutive failures, status",
    // Kept apart from mailbox_providers, whose row every job reads: these columns are written by
    // every replica's health flush (one statement every few seconds, never in the processing
    // transaction), so the hot row and its cursors are not rewritten for them.
    sql: `
      CREATE TABLE mailbox_health (
        provider_id text PRIMARY KEY REFERENCES mailbox_providers(id) ON DELETE CASCADE,
        last_notification_at timestamptz,
        last_processed_at timestamptz,
        last_success_at timestamptz,
        last_error_code text,
        last_error_message text,
        last_error_at timestamptz,
        consecutive_failures integer NOT NULL DEFAULT 0,
        status text NOT NULL DEFAULT 'healthy' CHECK (status IN ('healthy', 'degraded', 'failing', 'needs_reauthorisation', 'expired')),
        status_reason text,
        status_changed_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
];

/** A migration's statements: split where a line ends in a semicolon, except inside a
 * dollar-quoted body ($$ … $$ or $tag$ … $tag$), so a function body can span lines. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  let quote: string | undefined;
  for (const line of sql.split("\n")) {
    current.push(line);
    for (const [tag] of line.matchAll(/\$[A-Za-z_]*\$/g)) {
      if (quote === undefined) quote = tag;
      else if (tag === quote) quote = undefined;
    }
    if (quote === undefined && /;\s*$/.test(line)) {
      statements.push(current.join("\n").replace(/;\s*$/, "").trim());
      current = [];
    }
  }
  statements.push(current.join("\n").trim());
  return statements.filter(Boolean);
}

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
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await m.run?.(tx, { secrets: options.secrets });
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      done.push(m.version);
    }
    return done;
  });
}
