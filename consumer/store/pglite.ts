import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import type { Db, Queryable, SqlValue } from "./db.ts";

/** Embedded PostgreSQL (WASM) in `dataDir`; one process at a time may open a data directory. */
export async function openPglite(dataDir: string | undefined): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pg = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  const query = async <Row>(client: Pick<PGlite, "query">, sql: string, params: readonly SqlValue[] = []) =>
    (await client.query<Row>(sql, params as unknown[])).rows.map(normaliseRow) as Row[];
  return {
    kind: "pglite",
    query: (sql, params) => query(pg, sql, params),
    transaction: (body) => pg.transaction((tx) => body({ query: (sql, params) => query(tx, sql, params) } satisfies Queryable)),
    close: () => pg.close(),
  };
}

/** PGlite returns int8 as bigint; pg (configured in postgres.ts) as number. Make them agree. */
function normaliseRow<Row>(row: Row): Row {
  if (typeof row !== "object" || row === null) return row;
  for (const [key, value] of Object.entries(row)) {
    if (typeof value === "bigint") (row as Record<string, unknown>)[key] = Number(value);
  }
  return row;
}
