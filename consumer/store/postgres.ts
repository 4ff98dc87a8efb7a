import { createHash } from "node:crypto";
import pg from "pg";
import type { Db, QueryOptions, Queryable, SqlValue } from "./db.ts";

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
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10 });
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
