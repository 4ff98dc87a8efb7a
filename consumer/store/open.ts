// DATABASE_URL → PostgreSQL; unset → embedded PGlite under the data directory (default ./.inlet).
// Opening migrates, then refuses to go on when INLET_SECRETS_KEY cannot open the credentials
// stored (missing, lacking a key name, or the wrong key): better no start than a consumer whose
// every job fails.
import { join } from "node:path";
import type { DatabaseConfig } from "../config.ts";
import type { Db } from "./db.ts";
import { migrate } from "./migrations.ts";
import { openPglite } from "./pglite.ts";
import { openPostgres } from "./postgres.ts";
import { verifyKeyRing } from "./sealing.ts";

export async function openDatabase(config: Pick<DatabaseConfig, "databaseUrl" | "dataDir"> & Partial<Pick<DatabaseConfig, "secrets">>): Promise<Db> {
  const db = config.databaseUrl ? openPostgres(config.databaseUrl) : await openPglite(join(config.dataDir, "pglite"));
  try {
    await migrate(db, config.secrets ? { secrets: config.secrets } : {});
    await verifyKeyRing(db, config.secrets);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return db;
}
