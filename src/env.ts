// The Worker's configuration, read in one place: the bindings (wrangler.toml [vars] and secrets)
// are described once by `envSchema`, and `edgeConfig` turns them into the typed settings the
// routes use, with every default here, through the parsers the consumer uses too
// (src/queue/env.ts: an empty value is unset, a malformed one names itself). Nothing else reads
// `c.env`.
import * as z from "zod/mini";
import { queueSettings, type QueueSettings } from "./queue/config.ts";
import { text, url } from "./queue/env.ts";

export const DEFAULT_GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs";
export const DEFAULT_MICROSOFT_JWKS_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys";

const binding = z.optional(z.string());

/** Every binding the Worker reads (others, such as test-only bindings, are ignored). */
export const envSchema = z.object({
  UPSTASH_REDIS_REST_URL: binding,
  UPSTASH_REDIS_REST_TOKEN: binding,
  INLET_ADMIN_TOKEN: binding,
  IMAP_WEBHOOK_SECRET: binding,
  GOOGLE_JWKS_URL: binding,
  GOOGLE_PUBSUB_AUDIENCE: binding,
  GOOGLE_PUBSUB_SERVICE_ACCOUNTS: binding,
  MICROSOFT_APP_ID: binding,
  MICROSOFT_JWKS_URL: binding,
  UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: binding,
  UNIFIED_INBOUND_EMAIL_QUEUE_KEY: binding,
  UNIFIED_INBOUND_EMAIL_PROCESSING_QUEUE_KEY: binding,
  UNIFIED_INBOUND_EMAIL_INFLIGHT_HASH_KEY: binding,
  UNIFIED_INBOUND_EMAIL_INFLIGHT_LEASE_KEY: binding,
  UNIFIED_INBOUND_EMAIL_DLQ_KEY: binding,
  UNIFIED_INBOUND_EMAIL_QUEUE_MAX_ATTEMPTS: binding,
  UNIFIED_INBOUND_EMAIL_QUEUE_CLAIM_TTL_MS: binding,
  UNIFIED_INBOUND_EMAIL_QUEUE_DEDUPE_TTL_MS: binding,
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

function parse(env: Env): ConfigResult {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) return { ok: false, problem: `binding ${parsed.error.issues[0]?.path.join(".") ?? "?"} must be a string` };
  const e = parsed.data;
  try {
    const storeUrl = url(e, "UPSTASH_REDIS_REST_URL");
    const storeToken = text(e, "UPSTASH_REDIS_REST_TOKEN");
    const audience = text(e, "GOOGLE_PUBSUB_AUDIENCE");
    const serviceAccounts = text(e, "GOOGLE_PUBSUB_SERVICE_ACCOUNTS", "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
    return {
      ok: true,
      config: {
        store: storeUrl && storeToken ? { url: storeUrl, token: storeToken } : undefined,
        queue: queueSettings(e),
        adminToken: text(e, "INLET_ADMIN_TOKEN"),
        imapSecret: text(e, "IMAP_WEBHOOK_SECRET"),
        google: audience && serviceAccounts.length > 0 ? { jwksUrl: url(e, "GOOGLE_JWKS_URL", DEFAULT_GOOGLE_JWKS_URL)!, audience, serviceAccounts } : undefined,
        microsoft: { appId: text(e, "MICROSOFT_APP_ID"), jwksUrl: url(e, "MICROSOFT_JWKS_URL", DEFAULT_MICROSOFT_JWKS_URL)! },
      },
    };
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : "invalid configuration" };
  }
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
