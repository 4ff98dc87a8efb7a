// Microsoft's admin consent for a multi-tenant app: an administrator of the customer's tenant
// opens {login}/{tenant}/adminconsent?client_id=…&redirect_uri=…&state=…, grants the app's
// application permissions (Mail.Read) for the whole organisation, and is sent back to the
// redirect URI with admin_consent=True&tenant=<the tenant's id>&state=…, or with error=…
// (AADSTS65004 when declined). The tenant id that comes back is the one the app's tokens are for.
import { InletError, permanent } from "../domain/errors.ts";
import { startLoopbackRedirect } from "./loopback.ts";
import { randomState } from "./pkce.ts";

export interface AdminConsentRequest {
  loginBaseUrl: string;
  /** The tenant id or domain, or `organizations` to let any organisation's admin consent. */
  azureTenant: string;
  clientId: string;
  redirectUri: string;
  state: string;
}

export function adminConsentUrl(r: AdminConsentRequest): string {
  const url = new URL(`${r.loginBaseUrl.replace(/\/$/, "")}/${encodeURIComponent(r.azureTenant)}/adminconsent`);
  url.searchParams.set("client_id", r.clientId);
  url.searchParams.set("redirect_uri", r.redirectUri);
  url.searchParams.set("state", r.state);
  return url.toString();
}

export interface AdminConsentOptions {
  loginBaseUrl: string;
  azureTenant: string;
  clientId: string;
  open(url: string): Promise<void> | void;
  timeoutMs: number;
  port?: number;
}

/** Waits for the admin's redirect; the tenant that consented. */
export async function awaitAdminConsent(options: AdminConsentOptions): Promise<{ azureTenantId: string }> {
  const state = randomState();
  const loopback = await startLoopbackRedirect({ state, timeoutMs: options.timeoutMs, ...(options.port ? { port: options.port } : {}) });
  try {
    await options.open(adminConsentUrl({ loginBaseUrl: options.loginBaseUrl, azureTenant: options.azureTenant, clientId: options.clientId, redirectUri: loopback.redirectUri, state }));
    const query = await loopback.callback;
    const error = query.get("error");
    if (error) {
      const description = (query.get("error_description") ?? "").split(/\r?\n/)[0]!.slice(0, 240);
      throw new InletError(error === "access_denied" ? "microsoft_consent_declined" : `microsoft_consent_${error}`, `the administrator did not consent (${error}${description ? `: ${description}` : ""})`, { disposition: "dead_letter" });
    }
    const tenant = query.get("tenant");
    if (query.get("admin_consent")?.toLowerCase() !== "true" || !tenant) throw permanent("microsoft_consent_incomplete", "the redirect did not confirm admin consent");
    return { azureTenantId: tenant };
  } finally {
    await loopback.close();
  }
}
