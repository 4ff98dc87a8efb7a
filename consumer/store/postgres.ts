import { createHash } from "node:crypto";
import pg from "pg";
import { SESSION_SETTINGS, type Db, type QueryOptions, type Queryable, type SqlValue } from "./db.ts";

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
  // A connection the server ends (a restart, pg_terminate_backend: 57P01) emits 'error' on its
  // client. The pool listens only while the client is idle; a checked-out client (between the
  // statements of a transaction, or just after its query failed) has no other listener, and an
  // unheard 'error' event ends the process. This listener stays for the client's life: the error
  // is already given to any query in flight, and the pool discards the client when it comes back.
  pool.on("connect", (client) => client.on("error", () => undefined));
  // Each connection is set up on first use with a plain SET rather than a startup option, which
  // connection poolers such as PgBouncer refuse unless told to ignore it.
  const ready = new WeakSet<pg.PoolClient>();
  const connect = async () => {
    const client = await pool.connect();
    if (!ready.has(client)) {
      try {
        await client.query(SESSION_SETTINGS);
      } catch (error) {
        client.release(error instanceof Error ? error : true);
        throw error;
      }
      ready.add(client);
    }
    return client;
  };
  const query = async <Row>(client: pg.PoolClient, sql: string, params: readonly SqlValue[] = [], o?: QueryOptions) =>
    (await client.query({ text: sql, values: params as unknown[], ...(o?.prepare ? { name: statementName(sql) } : {}) })).rows as Row[];
  return {
    kind: "postgres",
    async query(sql, params, o) {
      const client = await connect();
      try {
        const rows = await query<never>(client, sql, params, o);
        client.release();
        return rows;
      } catch (error) {
        // As pg's own pool.query does: a connection that failed a query is not reused.
        client.release(error instanceof Error ? error : true);
        throw error;
      }
    },
    async transaction(body) {
      const client = await connect();
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
