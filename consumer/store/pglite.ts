import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { Db, Queryable, SqlValue } from "./db.ts";

/** Only one process may open a PGlite data directory: two would corrupt it. A lock file with the
 * owner's pid says who has it; a lock whose process is gone is taken over. */
function lock(dataDir: string): () => void {
  const file = join(dataDir, "inlet.lock");
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
  } catch {
    const owner = Number(readFileSync(file, "utf8"));
    let alive = false;
    try {
      alive = owner !== process.pid && process.kill(owner, 0);
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`the embedded database ${dataDir} is in use by process ${owner} (is \`inlet dev\` or \`inlet consumer\` running?). Stop it, or set DATABASE_URL to share a PostgreSQL.`);
    writeFileSync(file, String(process.pid));
  }
  return () => rmSync(file, { force: true });
}

/** Embedded PostgreSQL (WASM) in `dataDir` (in memory when undefined). */
export async function openPglite(dataDir: string | undefined): Promise<Db> {
  let unlock = () => {};
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    unlock = lock(dataDir);
  }
  const pg = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  const query = async <Row>(client: Pick<PGlite, "query">, sql: string, params: readonly SqlValue[] = []) =>
    (await client.query<Row>(sql, params as unknown[], BINARY_BYTEA)).rows.map(normaliseRow) as Row[];
  return {
    kind: "pglite",
    query: (sql, params) => query(pg, sql, params),
    transaction: (body) => pg.transaction((tx) => body({ query: (sql, params) => query(tx, sql, params) } satisfies Queryable)),
    close: async () => {
      await pg.close();
      unlock();
    },
  };
}

// PGlite turns a bytea parameter into a hex string one byte at a time (about 2 s for 5 MB);
// handed through untouched, a Uint8Array goes over the wire protocol in binary (30 times faster).
const BINARY_BYTEA = { serializers: { 17: ((bytes: unknown) => bytes) as (x: unknown) => string } };

/** PGlite returns int8 as bigint; pg (configured in postgres.ts) as number. Make them agree. */
function normaliseRow<Row>(row: Row): Row {
  if (typeof row !== "object" || row === null) return row;
  for (const [key, value] of Object.entries(row)) {
    if (typeof value === "bigint") (row as Record<string, unknown>)[key] = Number(value);
  }
  return row;
}
