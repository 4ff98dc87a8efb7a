// Microsoft identity platform: app-only access tokens for Graph by the client-credentials grant
// (scope https://graph.microsoft.com/.default), cached per credential.
import type { MicrosoftCredentials } from "../domain/mailbox.ts";
import { credentialKey, type TokenCache } from "./token-cache.ts";

export interface MicrosoftAuthOptions {
  loginBaseUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
}

type AppCredentials = Pick<MicrosoftCredentials, "azureTenantId" | "clientId" | "clientSecret">;

export const microsoftTokenKey = (c: AppCredentials) => credentialKey("microsoft", c.azureTenantId, c.clientId, c.clientSecret);

export function microsoftAppToken(options: MicrosoftAuthOptions, credentials: AppCredentials, signal?: AbortSignal): Promise<string> {
  const url = `${options.loginBaseUrl.replace(/\/$/, "")}/${encodeURIComponent(credentials.azureTenantId)}/oauth2/v2.0/token`;
  return options.tokens.get(
    microsoftTokenKey(credentials),
    url,
    { grant_type: "client_credentials", client_id: credentials.clientId, client_secret: credentials.clientSecret, scope: "https://graph.microsoft.com/.default" },
    { timeoutMs: options.timeoutMs, ...(signal ? { signal } : {}) },
    "microsoft",
  );
}
