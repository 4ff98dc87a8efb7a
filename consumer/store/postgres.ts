import pg from "pg";
import type { Db, Queryable, SqlValue } from "./db.ts";

// bigint columns (ids, ticket numbers) come back as JS numbers; they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export function openPostgres(connectionString: string, options: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10 });
  pool.on("error", () => undefined); // idle client errors surface on the next query instead
  const query = async <Row>(client: pg.Pool | pg.PoolClient, sql: string, params: readonly SqlValue[] = []) =>
    (await client.query(sql, params as unknown[])).rows as Row[];
  return {
    kind: "postgres",
    query: (sql, params) => query(pool, sql, params),
    async transaction(body) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const tx: Queryable = { query: (sql, params) => query(client, sql, params) };
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
