// The consumer's configuration: the environment read once, here, into one typed object that is
// passed down. Every variable, its default and its meaning is listed in README ("Configuration").
// A variable that is set but malformed stops the start with a message that names it.
import { queueSettings, type QueueSettings } from "../src/queue/config.ts";
import { flag, positiveInteger, text, url, wholeNumber, type Env } from "../src/queue/env.ts";
import { parseKeyRing, type KeyRing } from "./secrets/key-ring.ts";
import { mailOptionsFromEnv, type MailOptions } from "./mime/options.ts";

export type { Env };

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
export const DEFAULT_CONCURRENCY = 8;
/** At most this many jobs claimed ahead of a free slot (see the claim loop). */
export const DEFAULT_PREFETCH = 64;
/** A crashed replica's IMAP mailboxes are taken over after at most this (plus a third of it). */
export const DEFAULT_IMAP_LEASE_TTL_MS = 10_000;
/** A replica whose heartbeat is older than this counts as gone: the others share its mailboxes. */
export const DEFAULT_REPLICA_TTL_MS = 6_000;
/** How often each consumer runs the reclaim too (its first run a second after start). */
export const DEFAULT_RECLAIM_INTERVAL_MS = 5_000;
export const DEFAULT_LIMITS: ProcessingLimits = { maxMessageBytes: 25 * 1024 * 1024, maxAttachmentBytes: 10 * 1024 * 1024 };

export interface ProcessingLimits {
  /** Larger messages are skipped with `message_too_large`. */
  maxMessageBytes: number;
  /** Larger attachments are dropped and named in an internal note. */
  maxAttachmentBytes: number;
}

/** Where the provider APIs are (every base URL is configurable, for local fakes) and how long
 * one provider request may take. */
export interface ProviderEndpoints {
  graphBaseUrl: string;
  microsoftLoginBaseUrl: string;
  gmailBaseUrl: string;
  googleTokenUrl: string;
  /** Google's authorization endpoint (the browser side of `inlet providers connect google`). */
  googleAuthorizationUrl: string;
  /** Bound on each provider request (HTTP exchange, IMAP step). */
  fetchTimeoutMs: number;
}

/** Which Redis: TCP when REDIS_URL is set (blocking wake), else Upstash REST when its URL and
 * token are set, else local Redis over TCP. */
export type RedisTarget = { transport: "tcp"; url: string } | { transport: "rest"; url: string; token: string };

export interface QueueConnectionConfig {
  redis: RedisTarget;
  settings: QueueSettings;
}

export interface DatabaseConfig {
  /** PostgreSQL; undefined means embedded PGlite under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** INLET_SECRETS_KEY: the key ring stored credentials are sealed with (undefined: not set). */
  secrets: KeyRing | undefined;
  /** INLET_ALLOW_PLAINTEXT_SECRETS=1: the CLI may store secret values without a key ring. */
  allowPlainSecrets: boolean;
}

export interface ConsumerConfig extends QueueConnectionConfig, DatabaseConfig {
  concurrency: number;
  prefetch: number;
  jobTimeoutMs: number;
  shutdownGraceMs: number;
  reclaimIntervalMs: number;
  renewIntervalMs: number;
  /** The replica heartbeat's lifetime (renewed every third of it). */
  replicaTtlMs: number;
  /** How often each mailbox is swept for mail no notification announced (jittered). */
  reconcileIntervalMs: number;
  limits: ProcessingLimits;
  /** The fallback charset for undeclared 8-bit header bytes; the IMAP servers whose
   * Authentication-Results stamp is believed. */
  mail: MailOptions;
  providers: ProviderEndpoints;
  /** The Worker's public base URL: Graph notification URLs and the IMAP listener's posts. */
  ingressUrl: string | undefined;
  /** Set when this replica runs the IMAP listener (it needs the ingress URL and the shared secret).
   * `leaseTtlMs`: how long a replica that stopped renewing (a crash) keeps its IMAP mailboxes
   * before another replica, or its own restart, takes them over; renewed every third of it.
   * `maxMailboxes`: the most this replica watches (undefined: its share, however large). */
  imapListener: { ingressUrl: string; webhookSecret: string; leaseTtlMs: number; maxMailboxes: number | undefined } | undefined;
  /** Credentials stored as `env:NAME` are read from here when a mailbox row is used. */
  secretsEnv: Env;
  /** The consumer's HTTP server (health, metrics, read API, console); undefined when INLET_HTTP_PORT=0. */
  http: HttpConfig | undefined;
  /** INLET_ADMIN_TOKEN: signs operators in to the console and the admin endpoints (undefined: none). */
  adminToken: string | undefined;
  /** Webhook delivery and the read API (consumer/delivery/). */
  delivery: DeliveryConfig;
  /** Mailbox health, metrics and the console (see consumer/runtime/mailbox-health.ts, consumer/metrics/). */
  operations: OperationsConfig;
}

export interface OperationsConfig {
  /** How often mailbox health seen by this replica is stored and statuses checked. */
  healthFlushMs: number;
  /** How long the scrape-time metrics (queue, mailboxes, deliveries) are reused. */
  metricsCacheMs: number;
  /** How long a console session lasts. */
  consoleSessionMs: number;
}

export interface DeliveryConfig {
  /** INLET_WEBHOOKS: this replica delivers webhooks (the events are written either way). */
  enabled: boolean;
  /** How often due deliveries are looked for when nothing woke the deliverer. */
  pollMs: number;
  /** Requests in flight at once per endpoint (per replica). */
  concurrencyPerEndpoint: number;
  /** A claimed delivery's lease: longer than the timeout, so an attempt is over before another replica may retry it. */
  leaseMs: number;
  timeoutMs: number;
  maxResponseBytes: number;
  retry: { baseMs: number; maxMs: number; windowMs: number };
  allowInsecureLoopback: boolean;
  allowPrivateAddresses: boolean;
  /** Documents up to this size are inlined (base64) in the payload; 0 never. */
  inlineMaxBytes: number;
  /** Base of the document URLs in payloads; undefined: the HTTP server's own address. */
  publicUrl: string | undefined;
  /** How long the old secret keeps signing after rotate-secret. */
  rotationGraceMs: number;
}

export function deliveryConfig(env: Env): DeliveryConfig {
  const timeoutMs = positiveInteger(env, "INLET_WEBHOOK_TIMEOUT_MS", 10_000);
  const leaseMs = positiveInteger(env, "INLET_WEBHOOK_LEASE_MS", 3 * timeoutMs);
  if (leaseMs <= timeoutMs) throw new RangeError(`INLET_WEBHOOK_LEASE_MS (${leaseMs}) must be longer than INLET_WEBHOOK_TIMEOUT_MS (${timeoutMs})`);
  return {
    enabled: flag(env, "INLET_WEBHOOKS", true),
    pollMs: positiveInteger(env, "INLET_WEBHOOK_POLL_MS", 1_000),
    concurrencyPerEndpoint: positiveInteger(env, "INLET_WEBHOOK_CONCURRENCY", 16),
    leaseMs,
    timeoutMs,
    maxResponseBytes: positiveInteger(env, "INLET_WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024),
    retry: {
      baseMs: positiveInteger(env, "INLET_WEBHOOK_BACKOFF_BASE_MS", 5_000),
      maxMs: positiveInteger(env, "INLET_WEBHOOK_BACKOFF_MAX_MS", 3_600_000),
      windowMs: positiveInteger(env, "INLET_WEBHOOK_RETRY_WINDOW_MS", 24 * 3_600_000),
    },
    allowInsecureLoopback: flag(env, "INLET_ALLOW_INSECURE_WEBHOOKS", false),
    allowPrivateAddresses: flag(env, "INLET_WEBHOOK_ALLOW_PRIVATE", false),
    inlineMaxBytes: wholeNumber(env, "INLET_WEBHOOK_INLINE_MAX_BYTES", 0),
    publicUrl: url(env, "INLET_PUBLIC_URL")?.replace(/\/+$/, ""),
    rotationGraceMs: positiveInteger(env, "INLET_WEBHOOK_ROTATION_GRACE_MS", 24 * 3_600_000),
  };
}

export const DEFAULT_HTTP_PORT = 8080;

export interface HttpConfig {
  port: number;
  host: string;
}

export function redisTarget(env: Env): RedisTarget {
  const tcp = text(env, "REDIS_URL");
  const restUrl = url(env, "UPSTASH_REDIS_REST_URL");
  const restToken = text(env, "UPSTASH_REDIS_REST_TOKEN");
  if (!tcp && restUrl && restToken) return { transport: "rest", url: restUrl, token: restToken };
  return { transport: "tcp", url: tcp ?? DEFAULT_REDIS_URL };
}

export function queueConnectionConfig(env: Env): QueueConnectionConfig {
  return { redis: redisTarget(env), settings: queueSettings(env) };
}

export function providerEndpoints(env: Env): ProviderEndpoints {
  return {
    graphBaseUrl: url(env, "MICROSOFT_GRAPH_BASE_URL", "https://graph.microsoft.com/v1.0")!,
    microsoftLoginBaseUrl: url(env, "MICROSOFT_LOGIN_BASE_URL", "https://login.microsoftonline.com")!,
    gmailBaseUrl: url(env, "GMAIL_API_BASE_URL", "https://gmail.googleapis.com")!,
    googleTokenUrl: url(env, "GOOGLE_OAUTH_TOKEN_URL", "https://oauth2.googleapis.com/token")!,
    googleAuthorizationUrl: url(env, "GOOGLE_OAUTH_AUTHORIZATION_URL", "https://accounts.google.com/o/oauth2/v2/auth")!,
    fetchTimeoutMs: positiveInteger(env, "INLET_FETCH_TIMEOUT_MS", 30_000),
  };
}

export function secretsKeyRing(env: Env): KeyRing | undefined {
  const value = text(env, "INLET_SECRETS_KEY");
  return value === undefined ? undefined : parseKeyRing(value, "INLET_SECRETS_KEY");
}

export function databaseConfig(env: Env): DatabaseConfig {
  return { databaseUrl: text(env, "DATABASE_URL"), dataDir: text(env, "INLET_DATA_DIR", ".inlet"), secrets: secretsKeyRing(env), allowPlainSecrets: flag(env, "INLET_ALLOW_PLAINTEXT_SECRETS", false) };
}

export function consumerConfig(env: Env): ConsumerConfig {
  const ingressUrl = url(env, "INGRESS_URL");
  const webhookSecret = text(env, "IMAP_WEBHOOK_SECRET");
  return {
    ...queueConnectionConfig(env),
    ...databaseConfig(env),
    concurrency: positiveInteger(env, "INLET_CONCURRENCY", DEFAULT_CONCURRENCY),
    prefetch: wholeNumber(env, "INLET_PREFETCH", DEFAULT_PREFETCH),
    jobTimeoutMs: positiveInteger(env, "INLET_JOB_TIMEOUT_MS", 5 * 60_000),
    shutdownGraceMs: positiveInteger(env, "INLET_SHUTDOWN_GRACE_MS", 25_000),
    reclaimIntervalMs: positiveInteger(env, "INLET_RECLAIM_INTERVAL_MS", DEFAULT_RECLAIM_INTERVAL_MS),
    renewIntervalMs: positiveInteger(env, "INLET_RENEW_INTERVAL_MS", 3600_000),
    replicaTtlMs: positiveInteger(env, "INLET_REPLICA_TTL_MS", DEFAULT_REPLICA_TTL_MS),
    reconcileIntervalMs: positiveInteger(env, "INLET_RECONCILE_INTERVAL_MS", 300_000),
    limits: {
      maxMessageBytes: positiveInteger(env, "INLET_MAX_MESSAGE_BYTES", DEFAULT_LIMITS.maxMessageBytes),
      maxAttachmentBytes: positiveInteger(env, "INLET_MAX_ATTACHMENT_BYTES", DEFAULT_LIMITS.maxAttachmentBytes),
    },
    mail: mailOptionsFromEnv(env),
    providers: providerEndpoints(env),
    ingressUrl,
    imapListener: flag(env, "INLET_IMAP_LISTENER", true) && ingressUrl && webhookSecret ? { ingressUrl, webhookSecret, leaseTtlMs: positiveInteger(env, "INLET_IMAP_LEASE_TTL_MS", DEFAULT_IMAP_LEASE_TTL_MS), maxMailboxes: imapMaxMailboxes(env) } : undefined,
    secretsEnv: env,
    http: httpConfig(env),
    adminToken: text(env, "INLET_ADMIN_TOKEN"),
    delivery: deliveryConfig(env),
    operations: {
      healthFlushMs: positiveInteger(env, "INLET_HEALTH_FLUSH_MS", 5_000),
      metricsCacheMs: wholeNumber(env, "INLET_METRICS_CACHE_MS", 5_000),
      consoleSessionMs: positiveInteger(env, "INLET_CONSOLE_SESSION_MS", 8 * 3600_000),
    },
  };
}

/** INLET_IMAP_MAX_MAILBOXES: unset means no cap. */
function imapMaxMailboxes(env: Env): number | undefined {
  return text(env, "INLET_IMAP_MAX_MAILBOXES") === undefined ? undefined : positiveInteger(env, "INLET_IMAP_MAX_MAILBOXES", 1);
}

export function httpConfig(env: Env): HttpConfig | undefined {
  const port = wholeNumber(env, "INLET_HTTP_PORT", DEFAULT_HTTP_PORT);
  if (port > 65535) throw new Error(`INLET_HTTP_PORT must be a port number (0 turns the server off), not ${port}`);
  return port === 0 ? undefined : { port, host: text(env, "INLET_HTTP_HOST", "0.0.0.0") };
}
