// DATABASE_URL → PostgreSQL; unset → embedded PGlite under INLET_DATA_DIR (default ./.inlet).
import { join } from "node:path";
import type { Db } from "./db.ts";
import { migrate } from "./migrations.ts";
import { openPglite } from "./pglite.ts";
import { openPostgres } from "./postgres.ts";

export async function openDatabase(env: Readonly<Record<string, string | undefined>>): Promise<Db> {
  const db = env.DATABASE_URL ? openPostgres(env.DATABASE_URL) : await openPglite(join(env.INLET_DATA_DIR ?? ".inlet", "pglite"));
  await migrate(db);
  return db;
}
