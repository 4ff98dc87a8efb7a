// The one database interface processing and the admin CLI use; PostgreSQL (pg) and embedded
// PGlite both implement it with the same SQL.
export type SqlValue = string | number | boolean | null | Uint8Array | Date | readonly (string | number | boolean | null)[] | Record<string, unknown>;

export interface QueryOptions {
  /** A statement run for every message: keep it parsed and its plan cached on the connection
   * (a named prepared statement, on PostgreSQL and on PGlite). */
  prepare?: boolean;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly SqlValue[], options?: QueryOptions): Promise<Row[]>;
}

export interface Db extends Queryable {
  readonly kind: "postgres" | "pglite";
  /** Run `body` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(body: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Set on every connection (PostgreSQL and PGlite), as plain SETs.
 * - Generic plans: Inlet's prepared statements are key lookups and inserts, and planning the
 *   per-message statement anew (PostgreSQL's default for a statement's first executions, and
 *   whenever it guesses a custom plan is cheaper) costs more than running it.
 * - No scans or hash/merge joins where an index lookup exists: a generic plan is made once per
 *   connection, often while the tables are nearly empty (a fresh install; PGlite, which has no
 *   autovacuum to refresh statistics), and from such statistics the planner picks a scan of the
 *   tenant's rows and a hash join over all tickets, which then cost more with every message stored
 *   (measured: 3–10 ms a message after a few thousand). These settings only price those plans out;
 *   a query with no index to use still scans. */
export const SESSION_SETTINGS = [
  "SET plan_cache_mode = force_generic_plan",
  "SET enable_seqscan = off",
  "SET enable_bitmapscan = off",
  "SET enable_hashjoin = off",
  "SET enable_mergejoin = off",
].join("; ");
