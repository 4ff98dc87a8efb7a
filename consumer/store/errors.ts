// Database failures as InletErrors, so the claim loop retries what may pass and dead-letters at
// once what will fail the same way every time, and the retry log and the dead letter say why: the
// code names the SQLSTATE's condition (PostgreSQL's own name for it, e.g.
// `database_rejected:character_not_in_repertoire`), never a value from the message.
//
//   database_rejected:<condition>    dead_letter  the message's data broke a rule of the schema or a
//                                                 type (class 22 data exception, a NOT NULL or CHECK
//                                                 constraint, class 54 program limit, such as an
//                                                 index row too large): it would fail identically
//   database_unavailable:<condition> retry        the connection failed or the server is going away
//                                                 or not up yet (class 08, 57P01–57P03, 53 out of
//                                                 resources, a socket error, a connection pg lost)
//   database_error:<condition>       retry        anything else the server said (a deadlock, a
//                                                 serialization failure, a query canceled, a unique
//                                                 violation raced by another writer, …)
import { InletError, permanent, retryable } from "../domain/errors.ts";

/** PostgreSQL's condition names for the SQLSTATEs Inlet tells apart (Appendix A of its manual). */
const CONDITIONS: Record<string, string> = {
  "08000": "connection_exception",
  "08003": "connection_does_not_exist",
  "08006": "connection_failure",
  "08001": "sqlclient_unable_to_establish_sqlconnection",
  "08004": "sqlserver_rejected_establishment_of_sqlconnection",
  "08P01": "protocol_violation",
  "22000": "data_exception",
  "22001": "string_data_right_truncation",
  "22003": "numeric_value_out_of_range",
  "22007": "invalid_datetime_format",
  "22008": "datetime_field_overflow",
  "22021": "character_not_in_repertoire",
  "22023": "invalid_parameter_value",
  "22P02": "invalid_text_representation",
  "22P05": "untranslatable_character",
  "23502": "not_null_violation",
  "23503": "foreign_key_violation",
  "23505": "unique_violation",
  "23514": "check_violation",
  "40001": "serialization_failure",
  "40P01": "deadlock_detected",
  "53000": "insufficient_resources",
  "53100": "disk_full",
  "53200": "out_of_memory",
  "53300": "too_many_connections",
  "54000": "program_limit_exceeded",
  "54001": "statement_too_complex",
  "55P03": "lock_not_available",
  "57014": "query_canceled",
  "57P01": "admin_shutdown",
  "57P02": "crash_shutdown",
  "57P03": "cannot_connect_now",
  "57P05": "idle_session_timeout",
  "25P03": "idle_in_transaction_session_timeout",
  "XX000": "internal_error",
};

/** Errors of the pg client itself (it gives them no code) when it loses its connection. */
const LOST_CONNECTION = /Connection terminated|connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect/;

/** The SQLSTATE of an error the server (PostgreSQL or PGlite) sent, if it is one. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && typeof severity === "string" ? code : undefined;
}

function isPermanent(state: string): boolean {
  return state.startsWith("22") || state.startsWith("54") || state === "23502" || state === "23514";
}

function isUnavailable(state: string): boolean {
  return state.startsWith("08") || state.startsWith("53") || state === "57P01" || state === "57P02" || state === "57P03";
}

/** The InletError for a database failure; undefined when `error` is not one (it is left as it is). */
export function databaseFailure(error: unknown): InletError | undefined {
  if (error instanceof InletError) return undefined;
  const state = sqlState(error);
  if (state !== undefined) {
    const condition = CONDITIONS[state] ?? state;
    const message = `PostgreSQL error ${state} (${condition})`;
    if (isPermanent(state)) return permanent(`database_rejected:${condition}`, message, { cause: error });
    if (isUnavailable(state)) return retryable(`database_unavailable:${condition}`, message, { cause: error });
    return retryable(`database_error:${condition}`, message, { cause: error });
  }
  if (!(error instanceof Error)) return undefined;
  // A socket error (ECONNREFUSED, ECONNRESET, ETIMEDOUT, …), as Node names it.
  const system = (error as NodeJS.ErrnoException).code;
  if (typeof system === "string" && /^E[A-Z0-9_]+$/.test(system)) {
    return retryable(`database_unavailable:${system}`, `cannot reach the database (${system})`, { cause: error });
  }
  if (LOST_CONNECTION.test(error.message)) return retryable("database_unavailable:connection_lost", "the database connection was lost", { cause: error });
  return undefined;
}
