// The provider API clients one process shares: one token cache, so a mailbox's access token
// serves its resolver, its upkeep and its sweeps alike.
import type { ProviderEndpoints } from "../config.ts";
import { createImapTokenSource, type ImapTokenSource } from "../auth/imap.ts";
import { TokenCache } from "../auth/token-cache.ts";
import { GmailClient } from "./gmail-client.ts";
import { GraphClient } from "./graph-client.ts";
import type { ApiObserver } from "./http.ts";

export interface ProviderApis {
  graph: GraphClient;
  gmail: GmailClient;
  tokens: TokenCache;
  /** Access tokens for IMAP XOAUTH2 logins (from the same cache). */
  imapTokens: ImapTokenSource;
  /** Bound on each provider request (also each IMAP step). */
  timeoutMs: number;
}

/** `observe` is told of every request (metrics); it also watches the token requests of a cache made here. */
export function createProviderApis(endpoints: ProviderEndpoints, tokens?: TokenCache, observe?: ApiObserver): ProviderApis {
  const timeoutMs = endpoints.fetchTimeoutMs;
  tokens ??= new TokenCache(undefined, observe);
  const observing = observe ? { observe } : {};
  return {
    graph: new GraphClient({ graphBaseUrl: endpoints.graphBaseUrl, loginBaseUrl: endpoints.microsoftLoginBaseUrl, tokens, timeoutMs, ...observing }),
    gmail: new GmailClient({ gmailBaseUrl: endpoints.gmailBaseUrl, tokenUrl: endpoints.googleTokenUrl, tokens, timeoutMs, ...observing }),
    tokens,
    imapTokens: createImapTokenSource({ loginBaseUrl: endpoints.microsoftLoginBaseUrl, googleTokenUrl: endpoints.googleTokenUrl, tokens, timeoutMs }),
    timeoutMs,
  };
}
