// The one database interface processing and the admin CLI use; PostgreSQL (pg) and embedded
// PGlite both implement it with the same SQL.
export type SqlValue = string | number | boolean | null | Uint8Array | Date | string[] | Record<string, unknown>;

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

/** Set on every connection. Inlet's prepared statements are key lookups and inserts: planning
 * the per-message statement anew (PostgreSQL's default for a statement's first executions, and
 * whenever it guesses a custom plan is cheaper) costs more than running it. */
export const PLAN_CACHE_MODE = "force_generic_plan";
