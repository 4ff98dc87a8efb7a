import { createHash } from "node:crypto";
import pg from "pg";
import { PLAN_CACHE_MODE, type Db, type QueryOptions, type Queryable, type SqlValue } from "./db.ts";

// bigint columns (ids, ticket numbers) come back as JS numbers; they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** Prepared-statement names by SQL text (pg prepares a name once per connection). */
const names = new Map<string, string>();
function statementName(sql: string): string {
  let name = names.get(sql);
  if (!name) {
    name = `inlet_${createHash("sha1").update(sql).digest("hex").slice(0, 24)}`;
    names.set(sql, name);
  }
  return name;
}

export function openPostgres(connectionString: string, options: { max?: number } = {}): Db {
  const pool = new pg.Pool({ ...withStartupOptions(connectionString, `-c plan_cache_mode=${PLAN_CACHE_MODE}`), max: options.max ?? 10 });
  pool.on("error", () => undefined); // idle client errors surface on the next query instead
  const query = async <Row>(client: pg.Pool | pg.PoolClient, sql: string, params: readonly SqlValue[] = [], o?: QueryOptions) =>
    (await client.query({ text: sql, values: params as unknown[], ...(o?.prepare ? { name: statementName(sql) } : {}) })).rows as Row[];
  return {
    kind: "postgres",
    query: (sql, params, o) => query(pool, sql, params, o),
    async transaction(body) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const tx: Queryable = { query: (sql, params, o) => query(client, sql, params, o) };
        const result = await body(tx);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** Adds startup options to those a postgres:// URL may carry (`?options=...`, which pg would
 * otherwise prefer over ours). */
function withStartupOptions(connectionString: string, extra: string): { connectionString: string; options: string } {
  try {
    const url = new URL(connectionString);
    const own = url.searchParams.get("options");
    url.searchParams.delete("options");
    return { connectionString: url.toString(), options: own ? `${own} ${extra}` : extra };
  } catch {
    return { connectionString, options: extra }; // a libpq keyword string, not a URL
  }
}
