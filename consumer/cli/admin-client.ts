// How `inlet webhooks` and `inlet api-tokens` reach the data:
//   DATABASE_URL set                → PostgreSQL directly (any number of processes share it);
//   else a consumer answers locally → its admin endpoints (POST /admin/delivery/<operation>), since
//                                     that process owns the embedded database (`npm start` in
//                                     another terminal): INLET_ADMIN_URL, default
//                                     http://127.0.0.1:$INLET_HTTP_PORT (8080), with
//                                     INLET_ADMIN_TOKEN or the local stack's development token;
//   else                            → the embedded database directly.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { databaseConfig, deliveryConfig, DEFAULT_HTTP_PORT } from "../config.ts";
import { Refusal } from "../delivery/refusal.ts";
import { runAdminOperation, type InputOf, type OperationName, type OutputOf } from "../delivery/admin-operations.ts";
import { openDatabase } from "../store/open.ts";
import type { Db } from "../store/db.ts";
import { CliError } from "./output.ts";

export interface AdminClient {
  /** Where the operations run: "database" or the consumer's URL. */
  via: string;
  call<N extends OperationName>(name: N, input: InputOf<N>): Promise<OutputOf<N>>;
  close(): Promise<void>;
}

const answerSchema = z.union([z.object({ result: z.unknown() }), z.object({ error: z.object({ code: z.string(), message: z.string() }) })]);
const devSecretsSchema = z.object({ adminToken: z.string() });

function adminToken(env: NodeJS.ProcessEnv, dataDir: string): string | undefined {
  if (env.INLET_ADMIN_TOKEN) return env.INLET_ADMIN_TOKEN;
  const file = join(dataDir, "dev-secrets.json");
  if (!existsSync(file)) return undefined;
  const parsed = devSecretsSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  return parsed.success ? parsed.data.adminToken : undefined;
}

async function answers(base: string): Promise<boolean> {
  try {
    const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1_500) });
    return response.ok;
  } catch {
    return false;
  }
}

function remote(base: string, token: string): AdminClient {
  return {
    via: base,
    async call(name, input) {
      const response = await fetch(`${base}/admin/delivery/${name}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(input), signal: AbortSignal.timeout(30_000) }).catch((error: unknown) => {
        throw new CliError(`the consumer at ${base} did not answer: ${error instanceof Error ? error.message : String(error)}`);
      });
      const body = answerSchema.safeParse(await response.json().catch(() => undefined));
      if (!body.success) throw new CliError(`the consumer at ${base} answered ${response.status} without an admin answer (is INLET_ADMIN_URL / INLET_HTTP_PORT the consumer's HTTP server?)`);
      if ("error" in body.data) throw new CliError(`${body.data.error.message} (${body.data.error.code})`, response.status === 400 ? 2 : 1);
      return body.data.result as OutputOf<typeof name>;
    },
    close: async () => undefined,
  };
}

/** With `existingOnly`, undefined instead of creating an embedded database that is not there yet. */
export async function connectAdmin(env: NodeJS.ProcessEnv, options: { existingOnly: true }): Promise<AdminClient | undefined>;
export async function connectAdmin(env?: NodeJS.ProcessEnv): Promise<AdminClient>;
export async function connectAdmin(env: NodeJS.ProcessEnv = process.env, options: { existingOnly?: boolean } = {}): Promise<AdminClient | undefined> {
  const database = databaseConfig(env);
  if (!database.databaseUrl) {
    const base = (env.INLET_ADMIN_URL ?? `http://127.0.0.1:${env.INLET_HTTP_PORT && env.INLET_HTTP_PORT !== "0" ? env.INLET_HTTP_PORT : DEFAULT_HTTP_PORT}`).replace(/\/+$/, "");
    const token = adminToken(env, database.dataDir);
    if (await answers(base)) {
      if (!token) throw new CliError(`a consumer answers at ${base}, which owns the embedded database: set INLET_ADMIN_TOKEN to its admin token`, 2);
      return remote(base, token);
    }
  }
  if (options.existingOnly && !database.databaseUrl && !existsSync(join(database.dataDir, "pglite"))) return undefined;
  const delivery = deliveryConfig(env);
  let db: Db;
  try {
    db = await openDatabase(database);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/in use by process/.test(message)) throw new CliError(`${message} Its HTTP server did not answer either: set INLET_ADMIN_URL (or INLET_HTTP_PORT) to reach it.`);
    throw error;
  }
  return {
    via: "database",
    call<N extends OperationName>(name: N, input: InputOf<N>): Promise<OutputOf<N>> {
      return runAdminOperation({ db, secrets: database.secrets, delivery }, name, input).catch((error: unknown) => {
        if (error instanceof Refusal) throw new CliError(`${error.message} (${error.code})`, error.code === "invalid_input" ? 2 : 1);
        throw error;
      });
    },
    close: () => db.close(),
  };
}

export async function withAdmin<T>(body: (admin: AdminClient) => Promise<T>): Promise<T> {
  const admin = await connectAdmin();
  try {
    return await body(admin);
  } finally {
    await admin.close();
  }
}
