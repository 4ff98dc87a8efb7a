// One resolver per provider, configured from the environment (design section 6).
import type { Provider } from "../../src/queue/job.ts";
import type { Logger } from "../runtime/log.ts";
import type { Resolver } from "../runtime/resolver.ts";
import { createGoogleResolver } from "./google.ts";
import { createImapResolver } from "./imap.ts";
import { createMicrosoftResolver } from "./microsoft.ts";
import { TokenCache } from "./token-cache.ts";

export interface ProviderEndpoints {
  graphBaseUrl: string;
  microsoftLoginBaseUrl: string;
  gmailBaseUrl: string;
  googleTokenUrl: string;
  /** Bound on each provider request (HTTP exchange, IMAP step). */
  fetchTimeoutMs: number;
}

function positiveInt(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer (milliseconds), got "${raw}"`);
  return value;
}

export function providerEndpoints(env: Readonly<Record<string, string | undefined>>): ProviderEndpoints {
  return {
    graphBaseUrl: env.MICROSOFT_GRAPH_BASE_URL || "https://graph.microsoft.com/v1.0",
    microsoftLoginBaseUrl: env.MICROSOFT_LOGIN_BASE_URL || "https://login.microsoftonline.com",
    gmailBaseUrl: env.GMAIL_API_BASE_URL || "https://gmail.googleapis.com",
    googleTokenUrl: env.GOOGLE_OAUTH_TOKEN_URL || "https://oauth2.googleapis.com/token",
    fetchTimeoutMs: positiveInt(env, "INLET_FETCH_TIMEOUT_MS", 30_000),
  };
}

export interface ResolverOptions {
  /** For the few events a resolver reports itself (Gmail resyncs, a message passed over). */
  log?: Logger;
}

export function createResolvers(endpoints: ProviderEndpoints, tokens = new TokenCache(), options: ResolverOptions = {}): Record<Provider, Resolver> {
  const timeoutMs = endpoints.fetchTimeoutMs;
  return {
    microsoft: createMicrosoftResolver({ graphBaseUrl: endpoints.graphBaseUrl, loginBaseUrl: endpoints.microsoftLoginBaseUrl, tokens, timeoutMs }),
    google: createGoogleResolver({ gmailBaseUrl: endpoints.gmailBaseUrl, tokenUrl: endpoints.googleTokenUrl, tokens, timeoutMs, ...(options.log ? { log: options.log } : {}) }),
    imap: createImapResolver({ timeoutMs }),
  };
}
