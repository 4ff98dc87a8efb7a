import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite, parse, protocol } from "@electric-sql/pglite";
import { SESSION_SETTINGS, type Db, type QueryOptions, type Queryable, type SqlValue } from "./db.ts";

/** Only one process may open a PGlite data directory: two would corrupt it. A lock file with the
 * owner's pid says who has it; a lock whose process is gone is taken over. */
function lock(dataDir: string): () => void {
  const file = join(dataDir, "inlet.lock");
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
  } catch {
    const owner = Number(readFileSync(file, "utf8"));
    let alive = false;
    try {
      alive = owner !== process.pid && process.kill(owner, 0);
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`the embedded database ${dataDir} is in use by process ${owner} (is \`inlet dev\` or \`inlet consumer\` running?). Stop it, or set DATABASE_URL to share a PostgreSQL.`);
    writeFileSync(file, String(process.pid));
  }
  return () => rmSync(file, { force: true });
}

/** Embedded PostgreSQL (WASM) in `dataDir` (in memory when undefined). */
export async function openPglite(dataDir: string | undefined): Promise<Db> {
  let unlock = () => {};
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    unlock = lock(dataDir);
  }
  const pg = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  await pg.exec(SESSION_SETTINGS);
  const query = async <Row>(client: Pick<PGlite, "query">, sql: string, params: readonly SqlValue[] = []) =>
    (await client.query<Row>(sql, params as unknown[], BINARY_BYTEA)).rows.map(normaliseRow) as Row[];
  const prepared = preparedStatements(pg);
  return {
    kind: "pglite",
    query: async <Row>(sql: string, params?: readonly SqlValue[], o?: QueryOptions) =>
      o?.prepare ? ((await prepared<Row>(sql, params ?? [])).map(normaliseRow) as Row[]) : query<Row>(pg, sql, params),
    transaction: (body) => pg.transaction((tx) => body({ query: (sql, params) => query(tx, sql, params) } satisfies Queryable)),
    close: async () => {
      await pg.close();
      unlock();
    },
  };
}

/** PGlite's query() parses and plans every statement anew (unnamed statements only), which costs
 * more than running the big per-message statement. This keeps named prepared statements instead,
 * through PGlite's wire-protocol API: Parse and Describe once per statement, then Bind, Execute
 * and Sync per call, under the same locks query() takes. */
type BackendMessage = Awaited<ReturnType<PGlite["execProtocol"]>>["messages"][number];

function preparedStatements(pg: PGlite): <Row>(sql: string, params: readonly SqlValue[]) => Promise<Row[]> {
  const statements = new Map<string, { name: string; types: number[] }>();
  const { serialize } = protocol;
  const run = async (...messages: Uint8Array[]): Promise<BackendMessage[]> => {
    const { messages: replies } = await pg.execProtocol(concat(messages), { syncToFs: false, throwOnError: false });
    const error = replies.find((m) => m.name === "error");
    if (error) throw error;
    return replies;
  };
  const prepare = async (sql: string) => {
    const name = `inlet_${statements.size + 1}`;
    const described = await run(serialize.parse({ name, text: sql }), serialize.describe({ type: "S", name }), serialize.sync());
    const statement = { name, types: parse.parseDescribeStatementResults(described) };
    statements.set(sql, statement);
    return statement;
  };
  return async (sql, params) => {
    await pg._checkReady(); // as query() does: a closed database says so
    return pg._runExclusiveTransaction(() =>
      pg._runExclusiveQuery(async () => {
        const { name, types } = statements.get(sql) ?? (await prepare(sql));
        const values = params.map((value, i) => serializeParam(pg, value, types[i] ?? 0));
        const replies = await run(serialize.bind({ statement: name, values }), serialize.describe({ type: "P" }), serialize.execute({}), serialize.sync());
        await pg.syncToFs();
        return parse.parseResults(replies, pg.parsers)[0]?.rows ?? [];
      }),
    ) as Promise<never[]>;
  };
}

function serializeParam(pg: PGlite, value: SqlValue, type: number): string | Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return value; // bytea goes over the protocol in binary
  const serializer = pg.serializers[type];
  return serializer ? (serializer(value) as string) : String(value);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

// PGlite turns a bytea parameter into a hex string one byte at a time (about 2 s for 5 MB);
// handed through untouched, a Uint8Array goes over the wire protocol in binary (30 times faster).
const BINARY_BYTEA = { serializers: { 17: ((bytes: unknown) => bytes) as (x: unknown) => string } };

/** PGlite returns int8 as bigint; pg (configured in postgres.ts) as number. Make them agree. */
function normaliseRow<Row>(row: Row): Row {
  if (typeof row !== "object" || row === null) return row;
  for (const [key, value] of Object.entries(row)) {
    if (typeof value === "bigint") (row as Record<string, unknown>)[key] = Number(value);
  }
  return row;
}
