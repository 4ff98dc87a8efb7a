// The consent flows of `inlet providers connect`, from the first URL to a connected mailbox:
//   Google: the installed-app flow (PKCE, loopback redirect, state) → a refresh token for
//           gmail.readonly → the address it reads (the profile) → stored, watched
//   Microsoft: admin consent (loopback redirect, state) → the consenting tenant's id → the app's
//           token for it reads the mailbox's Inbox → stored, subscribed
// `open` shows the user the URL: the CLI prints it; the local demo follows it in the sandbox.
import type { ProviderEndpoints } from "../config.ts";
import type { GoogleCredentials, MicrosoftApp } from "../domain/mailbox.ts";
import { authorizeInstalledApp } from "../oauth/google-installed-app.ts";
import { awaitAdminConsent } from "../oauth/microsoft-admin-consent.ts";
import { gmailProfile } from "../provider-api/gmail-messages.ts";
import { permanent } from "../domain/errors.ts";
import { connectMailbox, type ConnectResult } from "./connect.ts";
import type { ProviderContext } from "./context.ts";
import { onboardGmail, onboardMicrosoft } from "./onboard.ts";

export interface Interaction {
  open(url: string): Promise<void> | void;
  /** How long to wait for the redirect. */
  timeoutMs: number;
  /** The loopback port (default: any free one). */
  port?: number;
}

export interface GoogleConnection extends Interaction {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  topic: string | undefined;
  /** Suggests the account to sign in with. */
  loginHint?: string;
  bulkMailOpensTickets?: boolean;
}

export async function connectGoogleInteractively(ctx: ProviderContext, endpoints: ProviderEndpoints, o: GoogleConnection): Promise<ConnectResult & { address: string }> {
  const grant = await authorizeInstalledApp(
    { clientId: o.clientId, clientSecret: o.clientSecret, authorizationUrl: endpoints.googleAuthorizationUrl, tokenUrl: endpoints.googleTokenUrl, timeoutMs: endpoints.fetchTimeoutMs },
    { open: o.open, timeoutMs: o.timeoutMs, ...(o.port ? { port: o.port } : {}), ...(o.loginHint ? { loginHint: o.loginHint } : {}) },
  );
  const credentials: GoogleCredentials = { type: "google", clientId: o.clientId, clientSecret: o.clientSecret, refreshToken: grant.refreshToken };
  const profile = await gmailProfile({ gmail: ctx.apis.gmail, credentials, address: "me" });
  if (!profile.emailAddress) throw permanent("google_profile_without_address", "Gmail's profile did not say which mailbox the grant reads");
  const address = profile.emailAddress.toLowerCase();
  const result = await connectMailbox(ctx, { tenantId: o.tenantId, kind: "google", address, credentials, ...(o.bulkMailOpensTickets !== undefined ? { bulkMailOpensTickets: o.bulkMailOpensTickets } : {}) }, onboardGmail(ctx, o.topic));
  return { ...result, address };
}

export interface MicrosoftConnection extends Interaction {
  tenantId: string;
  mailbox: string;
  /** The app registration and its own credential (the customer tenant comes from the consent). */
  app: Omit<MicrosoftApp, "azureTenantId">;
  /** The tenant (id or domain) whose admin consents, or `organizations` (default). */
  azureTenant?: string;
  /** How long to keep checking while the fresh consent propagates (default 2 minutes). */
  waitForGrantMs?: number;
  bulkMailOpensTickets?: boolean;
}

export async function connectMicrosoftInteractively(ctx: ProviderContext, endpoints: ProviderEndpoints, o: MicrosoftConnection): Promise<ConnectResult & { azureTenantId: string }> {
  const { azureTenantId } = await awaitAdminConsent({ loginBaseUrl: endpoints.microsoftLoginBaseUrl, azureTenant: o.azureTenant ?? "organizations", clientId: o.app.clientId, open: o.open, timeoutMs: o.timeoutMs, ...(o.port ? { port: o.port } : {}) });
  const app = { ...o.app, azureTenantId } as MicrosoftApp;
  const result = await connectMailbox(ctx, { tenantId: o.tenantId, kind: "microsoft", address: o.mailbox, credentials: { type: "microsoft", ...app }, ...(o.bulkMailOpensTickets !== undefined ? { bulkMailOpensTickets: o.bulkMailOpensTickets } : {}) }, onboardMicrosoft(ctx), { waitForGrantMs: o.waitForGrantMs ?? 120_000 });
  return { ...result, azureTenantId };
}
