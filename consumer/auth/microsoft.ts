// Microsoft identity platform: app-only access tokens by the client-credentials grant, the app
// authenticated by its secret or by a certificate (client assertion), for Graph
// (https://graph.microsoft.com/.default) or Exchange Online IMAP; cached per app and scope.
import type { MicrosoftApp } from "../domain/mailbox.ts";
import { CLIENT_ASSERTION_TYPE, clientAssertion } from "./client-assertion.ts";
import { GRAPH_APP_SCOPE } from "./scopes.ts";
import { credentialKey, type AccessToken, type TokenCache } from "./token-cache.ts";

export interface MicrosoftAuthOptions {
  loginBaseUrl: string;
  tokens: TokenCache;
  timeoutMs: number;
}

export const microsoftTokenUrl = (loginBaseUrl: string, azureTenantId: string) => `${loginBaseUrl.replace(/\/$/, "")}/${encodeURIComponent(azureTenantId)}/oauth2/v2.0/token`;

export const microsoftTokenKey = (app: MicrosoftApp, scope = GRAPH_APP_SCOPE) =>
  credentialKey("microsoft", scope, app.azureTenantId, app.clientId, app.certificate ? `cert:${app.certificate.thumbprint}:${app.certificate.privateKey}` : `secret:${app.clientSecret}`);

export function microsoftToken(options: MicrosoftAuthOptions, app: MicrosoftApp, scope: string, signal?: AbortSignal): Promise<AccessToken> {
  const url = microsoftTokenUrl(options.loginBaseUrl, app.azureTenantId);
  const form = async (): Promise<Record<string, string>> => {
    const base = { grant_type: "client_credentials", client_id: app.clientId, scope };
    if (!app.certificate) return { ...base, client_secret: app.clientSecret };
    return { ...base, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await clientAssertion(app.clientId, app.certificate, url) };
  };
  return options.tokens.get(microsoftTokenKey(app, scope), { url, form, issuer: "microsoft" }, { timeoutMs: options.timeoutMs, ...(signal ? { signal } : {}) });
}

/** An app-only Graph token for the app's customer tenant. */
export async function microsoftAppToken(options: MicrosoftAuthOptions, app: MicrosoftApp, signal?: AbortSignal): Promise<string> {
  return (await microsoftToken(options, app, GRAPH_APP_SCOPE, signal)).token;
}
