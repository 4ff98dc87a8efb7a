// The Worker's configuration, read in one place: the bindings (wrangler.toml [vars] and secrets)
// are described once by `envSchema`, and `edgeConfig` turns them into the typed settings the
// routes use, with every default here. Nothing else reads `c.env`.
import * as z from "zod/mini";
import { queueSettings, type QueueSettings } from "./queue/config.ts";

export const DEFAULT_GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs";
export const DEFAULT_MICROSOFT_JWKS_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys";

const text = z.optional(z.string());

/** Every binding the Worker reads (others, such as test-only bindings, are ignored). */
export const envSchema = z.object({
  UPSTASH_REDIS_REST_URL: text,
  UPSTASH_REDIS_REST_TOKEN: text,
  INLET_ADMIN_TOKEN: text,
  IMAP_WEBHOOK_SECRET: text,
  GOOGLE_JWKS_URL: text,
  GOOGLE_PUBSUB_AUDIENCE: text,
  GOOGLE_PUBSUB_SERVICE_ACCOUNTS: text,
  MICROSOFT_APP_ID: text,
  MICROSOFT_JWKS_URL: text,
  UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: text,
  UNIFIED_INBOUND_EMAIL_QUEUE_KEY: text,
  UNIFIED_INBOUND_EMAIL_PROCESSING_QUEUE_KEY: text,
  UNIFIED_INBOUND_EMAIL_INFLIGHT_HASH_KEY: text,
  UNIFIED_INBOUND_EMAIL_INFLIGHT_LEASE_KEY: text,
  UNIFIED_INBOUND_EMAIL_DLQ_KEY: text,
  UNIFIED_INBOUND_EMAIL_QUEUE_MAX_ATTEMPTS: text,
  UNIFIED_INBOUND_EMAIL_QUEUE_CLAIM_TTL_MS: text,
  UNIFIED_INBOUND_EMAIL_QUEUE_DEDUPE_TTL_MS: text,
});

/** The Worker's bindings, as wrangler and the tests pass them. */
export type Env = z.input<typeof envSchema>;

export interface GoogleOidcConfig {
  jwksUrl: string;
  audience: string;
  serviceAccounts: readonly string[];
}

export interface EdgeConfig {
  /** The Upstash REST endpoint; undefined when URL or token is not set. */
  store: { url: string; token: string } | undefined;
  queue: QueueSettings;
  /** Bearer token for /stats; undefined turns /stats off. */
  adminToken: string | undefined;
  /** HMAC secret shared with the IMAP listener; undefined turns the IMAP route off. */
  imapSecret: string | undefined;
  /** Pub/Sub push verification; undefined (no audience or no service account) turns the Google route off. */
  google: GoogleOidcConfig | undefined;
  /** Checks `validationTokens` of rich Graph notifications when an app id is set. */
  microsoft: { appId: string | undefined; jwksUrl: string };
}

export type ConfigResult = { ok: true; config: EdgeConfig } | { ok: false; problem: string };

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value.trim() === "" ? undefined : value);

function parse(env: Env): ConfigResult {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) return { ok: false, problem: `binding ${parsed.error.issues[0]?.path.join(".") ?? "?"} must be a string` };
  const e = parsed.data;
  let queue: QueueSettings;
  try {
    queue = queueSettings(e);
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : "invalid queue settings" };
  }
  const url = nonEmpty(e.UPSTASH_REDIS_REST_URL);
  const token = nonEmpty(e.UPSTASH_REDIS_REST_TOKEN);
  const audience = nonEmpty(e.GOOGLE_PUBSUB_AUDIENCE);
  const serviceAccounts = (e.GOOGLE_PUBSUB_SERVICE_ACCOUNTS ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  return {
    ok: true,
    config: {
      store: url && token ? { url, token } : undefined,
      queue,
      adminToken: nonEmpty(e.INLET_ADMIN_TOKEN),
      imapSecret: nonEmpty(e.IMAP_WEBHOOK_SECRET),
      google: audience && serviceAccounts.length > 0 ? { jwksUrl: nonEmpty(e.GOOGLE_JWKS_URL) ?? DEFAULT_GOOGLE_JWKS_URL, audience, serviceAccounts } : undefined,
      microsoft: { appId: nonEmpty(e.MICROSOFT_APP_ID), jwksUrl: nonEmpty(e.MICROSOFT_JWKS_URL) ?? DEFAULT_MICROSOFT_JWKS_URL },
    },
  };
}

// workerd hands every request of an isolate the same env object: parse it once.
const parsedEnvs = new WeakMap<object, ConfigResult>();

export function edgeConfig(env: Env): ConfigResult {
  let result = parsedEnvs.get(env);
  if (!result) {
    result = parse(env);
    parsedEnvs.set(env, result);
  }
  return result;
}
