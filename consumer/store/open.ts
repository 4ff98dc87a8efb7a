// DATABASE_URL → PostgreSQL; unset → embedded PGlite under the data directory (default ./.inlet).
import { join } from "node:path";
import type { ConsumerConfig } from "../config.ts";
import type { Db } from "./db.ts";
import { migrate } from "./migrations.ts";
import { openPglite } from "./pglite.ts";
import { openPostgres } from "./postgres.ts";

export async function openDatabase(config: Pick<ConsumerConfig, "databaseUrl" | "dataDir">): Promise<Db> {
  const db = config.databaseUrl ? openPostgres(config.databaseUrl) : await openPglite(join(config.dataDir, "pglite"));
  await migrate(db);
  return db;
}
