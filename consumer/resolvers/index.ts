// One resolver per provider, configured from the environment (design section 6).
import type { Provider } from "../../src/queue/job.ts";
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
  fetchTimeoutMs: number;
}

export function providerEndpoints(env: Readonly<Record<string, string | undefined>>): ProviderEndpoints {
  return {
    graphBaseUrl: env.MICROSOFT_GRAPH_BASE_URL ?? "https://graph.microsoft.com/v1.0",
    microsoftLoginBaseUrl: env.MICROSOFT_LOGIN_BASE_URL ?? "https://login.microsoftonline.com",
    gmailBaseUrl: env.GMAIL_API_BASE_URL ?? "https://gmail.googleapis.com",
    googleTokenUrl: env.GOOGLE_OAUTH_TOKEN_URL ?? "https://oauth2.googleapis.com/token",
    fetchTimeoutMs: Number(env.INLET_FETCH_TIMEOUT_MS ?? 30_000),
  };
}

export function createResolvers(endpoints: ProviderEndpoints, tokens = new TokenCache()): Record<Provider, Resolver> {
  return {
    microsoft: createMicrosoftResolver({ graphBaseUrl: endpoints.graphBaseUrl, loginBaseUrl: endpoints.microsoftLoginBaseUrl, tokens, timeoutMs: endpoints.fetchTimeoutMs }),
    google: createGoogleResolver({ gmailBaseUrl: endpoints.gmailBaseUrl, tokenUrl: endpoints.googleTokenUrl, tokens, timeoutMs: endpoints.fetchTimeoutMs }),
    imap: createImapResolver({ timeoutMs: endpoints.fetchTimeoutMs }),
  };
}
