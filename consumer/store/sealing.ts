// Credentials at rest, across the whole table: sealing plain rows and re-sealing rows under older
// keys (the migration that introduced sealing, and `inlet secrets rotate`), checking at start that
// the configured key ring opens what is stored, and counting what is sealed under which key.
// Each row records the key its sealed fields are under (`credentials_key_id`, NULL when it has
// none), so these are queries on one column, not scans of every value.
import { InletError } from "../domain/errors.ts";
import { censusOf, openCredentials, resealCredentials } from "../secrets/credential-fields.ts";
import type { KeyRing } from "../secrets/key-ring.ts";
import type { Queryable } from "./db.ts";

const ROWS_NOT_UNDER = "SELECT id, credentials FROM mailbox_providers WHERE credentials_key_id IS DISTINCT FROM $1 ORDER BY id FOR UPDATE";
const WRITE_SEALED = "UPDATE mailbox_providers SET credentials = $2::jsonb, credentials_key_id = $3 WHERE id = $1";
const ONE_ROW_PER_KEY = "SELECT DISTINCT ON (credentials_key_id) credentials_key_id AS key_id, id, credentials FROM mailbox_providers WHERE credentials_key_id IS NOT NULL ORDER BY credentials_key_id, id";
const ROWS_PER_KEY = "SELECT credentials_key_id AS key_id, count(*)::int AS n FROM mailbox_providers GROUP BY credentials_key_id ORDER BY credentials_key_id";
const ROWS_WITHOUT_KEY = "SELECT id, credentials FROM mailbox_providers WHERE credentials_key_id IS NULL";

const json = (value: unknown): unknown => (typeof value === "string" ? (JSON.parse(value) as unknown) : value);

export interface ResealReport {
  /** Rows whose credentials were written again under the primary key. */
  resealed: number;
  /** The key they are all sealed under now. */
  keyId: string;
}

/** Every row with a secret that is plain or sealed under another key is sealed again under the
 * ring's primary key; a row holding only references is left as it is. Run inside a transaction:
 * the rows stay locked until it commits. */
export async function resealAll(q: Queryable, ring: KeyRing): Promise<ResealReport> {
  const keyId = ring.primary.id;
  const rows = await q.query<{ id: string; credentials: unknown }>(ROWS_NOT_UNDER, [keyId]);
  let resealed = 0;
  for (const row of rows) {
    const stored = json(row.credentials);
    const census = censusOf(stored);
    if (census.plain === 0 && census.sealed.size === 0) continue;
    const sealed = resealCredentials(stored, ring, row.id);
    await q.query(WRITE_SEALED, [row.id, JSON.stringify(sealed), keyId]);
    resealed++;
  }
  return { resealed, keyId };
}

/** Refuses to go on when the stored credentials cannot be opened with `ring`: sealed rows and no
 * key ring, a key name the ring lacks, or a key that does not open what was sealed under its
 * name (one row per key name is opened: a wrong key fails every row alike). */
export async function verifyKeyRing(q: Queryable, ring: KeyRing | undefined): Promise<void> {
  const samples = await q.query<{ key_id: string; id: string; credentials: unknown }>(ONE_ROW_PER_KEY);
  if (samples.length === 0) return;
  const names = samples.map((s) => JSON.stringify(s.key_id)).join(", ");
  if (!ring) {
    throw new InletError("secrets_key_missing", `the database holds credentials sealed under key ${names}, and INLET_SECRETS_KEY is not set: set it to the key ring they were sealed with`, { disposition: "dead_letter" });
  }
  const missing = samples.filter((s) => !ring.get(s.key_id));
  if (missing.length > 0) {
    throw new InletError("secrets_key_unknown", `the database holds credentials sealed under key ${missing.map((s) => JSON.stringify(s.key_id)).join(", ")}, which INLET_SECRETS_KEY does not hold (it holds ${ring.ids.map((k) => JSON.stringify(k)).join(", ")})`, { disposition: "dead_letter" });
  }
  for (const sample of samples) {
    try {
      openCredentials(json(sample.credentials), ring, sample.id);
    } catch (error) {
      if (error instanceof InletError && error.code === "secrets_decrypt_failed") {
        throw new InletError("secrets_key_wrong", `INLET_SECRETS_KEY's key ${JSON.stringify(sample.key_id)} does not open the credentials sealed under that name (mailbox ${sample.id}): it is not the key they were sealed with, or the stored value was altered`, { disposition: "dead_letter", cause: error });
      }
      throw error;
    }
  }
}

export interface SecretsStatus {
  /** Rows by the key their secrets are sealed under (null: none sealed). */
  rowsByKey: { keyId: string | null; rows: number }[];
  /** Rows that hold a secret in plain text. */
  plainRows: number;
}

export async function secretsStatus(q: Queryable): Promise<SecretsStatus> {
  const rowsByKey = (await q.query<{ key_id: string | null; n: number }>(ROWS_PER_KEY)).map((r) => ({ keyId: r.key_id, rows: Number(r.n) }));
  const unsealed = await q.query<{ id: string; credentials: unknown }>(ROWS_WITHOUT_KEY);
  return { rowsByKey, plainRows: unsealed.filter((r) => censusOf(json(r.credentials)).plain > 0).length };
}
