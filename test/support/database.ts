// Databases for tests: a fresh PostgreSQL database per call (on the real server, trust auth)
// or a fresh PGlite, both migrated.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Db } from "../../consumer/store/db.ts";
import { migrate } from "../../consumer/store/migrations.ts";
import { openPglite } from "../../consumer/store/pglite.ts";
import { openPostgres } from "../../consumer/store/postgres.ts";

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export type Backend = "postgres" | "pglite";
export const backends: Backend[] = ["postgres", "pglite"];

export interface TestDatabase {
  db: Db;
  /** DATABASE_URL for a child process (postgres), or the PGlite data dir (pglite). */
  url: string | undefined;
  dataDir: string | undefined;
  drop(): Promise<void>;
}

let n = 0;

export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `inlet_test_${process.pid}_${Date.now().toString(36)}_${n++}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A fresh database, migrated unless `migrate: false`. */
export async function testDatabase(backend: Backend, options: { onDisk?: boolean; migrate?: boolean } = {}): Promise<TestDatabase> {
  if (backend === "postgres") {
    const created = await createPostgresDatabase();
    const db = openPostgres(created.url);
    if (options.migrate !== false) await migrate(db);
    return { db, url: created.url, dataDir: undefined, drop: async () => (await db.close(), await created.drop()) };
  }
  const dataDir = options.onDisk ? mkdtempSync(join(tmpdir(), "inlet-pglite-")) : undefined;
  const db = await openPglite(dataDir);
  if (options.migrate !== false) await migrate(db);
  return {
    db,
    url: undefined,
    dataDir,
    async drop() {
      await db.close().catch(() => undefined);
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
