// Structured logs: one JSON object per line, with the design's event names and the job's
// identifiers. Never message content: callers pass ids, counts, codes and durations only. Never a
// secret either: besides callers passing none, any field named like one is censored, so a
// credentials object or a request's headers that reach a log line by mistake do not leak.
import { pino, type Logger } from "pino";

export type QueueEvent =
  | "inbound_email_queue_enqueue"
  | "inbound_email_queue_consume_start"
  | "inbound_email_queue_ack"
  | "inbound_email_queue_retry"
  | "inbound_email_queue_dlq"
  | "inbound_email_queue_skip"
  | "inbound_email_queue_reclaim"
  | "inbound_email_queue_release";

export type { Logger };

const SECRET_KEYS = ["credentials", "password", "clientSecret", "client_secret", "refreshToken", "refresh_token", "accessToken", "access_token", "privateKey", "client_assertion", "assertion", "authorization"];
/** The paths pino censors: each key at the top level and one or two levels down. */
export const REDACTED_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? "info";
  return pino(
    { level, base: { service: "inlet-consumer" }, timestamp: pino.stdTimeFunctions.isoTime, messageKey: "message", redact: { paths: REDACTED_PATHS, censor: "[secret]" } },
    options.destination ?? pino.destination({ sync: false }),
  );
}

export function logEvent(log: Logger, event: QueueEvent, fields: Record<string, unknown>, level: "info" | "warn" | "error" = "info"): void {
  log[level]({ event, ...fields }, event);
}
