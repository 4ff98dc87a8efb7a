// Google's OAuth 2.0 for installed apps: the authorization-code flow with PKCE and a loopback
// redirect. Inlet asks for the narrowest scope that reads mail (gmail.readonly), offline access
// (a refresh token) and the consent screen every time (so a reconnection gets a refresh token
// again), checks `state` on the redirect, then exchanges the code with the verifier.
import { z } from "zod";
import { InletError, permanent } from "../domain/errors.ts";
import { GMAIL_READONLY_SCOPE } from "../auth/scopes.ts";
import { tokenRefusal } from "../auth/token-errors.ts";
import { errorText, failure, readJson, request } from "../provider-api/http.ts";
import { startLoopbackRedirect } from "./loopback.ts";
import { createPkce, randomState, type Pkce } from "./pkce.ts";

export interface GoogleOAuthClient {
  clientId: string;
  clientSecret: string;
  authorizationUrl: string;
  tokenUrl: string;
  timeoutMs: number;
}

export interface GoogleGrant {
  refreshToken: string;
  accessToken: string;
  scopes: string[];
}

const codeAnswerSchema = z.object({ access_token: z.string().min(1), refresh_token: z.string().min(1).optional(), scope: z.string().optional(), expires_in: z.coerce.number().optional() });

export function googleAuthorizationUrl(client: GoogleOAuthClient, request: { redirectUri: string; state: string; pkce: Pkce; loginHint?: string; scope?: string }): string {
  const url = new URL(client.authorizationUrl);
  const params: Record<string, string> = {
    client_id: client.clientId,
    redirect_uri: request.redirectUri,
    response_type: "code",
    scope: request.scope ?? GMAIL_READONLY_SCOPE,
    access_type: "offline",
    prompt: "consent",
    include_granted_scopes: "false",
    state: request.state,
    code_challenge: request.pkce.challenge,
    code_challenge_method: request.pkce.method,
    ...(request.loginHint ? { login_hint: request.loginHint } : {}),
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

export async function exchangeGoogleCode(client: GoogleOAuthClient, exchange: { code: string; verifier: string; redirectUri: string }): Promise<GoogleGrant> {
  const body = new URLSearchParams({ grant_type: "authorization_code", code: exchange.code, code_verifier: exchange.verifier, redirect_uri: exchange.redirectUri, client_id: client.clientId, client_secret: client.clientSecret });
  const call = await request(client.tokenUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body: body.toString() }, { timeoutMs: client.timeoutMs }, "google_token");
  if (call.status === 400 || call.status === 401 || call.status === 403) throw tokenRefusal("google", call.status, await errorText(call, 8000));
  if (call.status < 200 || call.status > 299) throw await failure(call);
  const answer = await readJson(call, codeAnswerSchema);
  const scopes = (answer.scope ?? "").split(" ").filter(Boolean);
  if (!scopes.includes(GMAIL_READONLY_SCOPE)) throw permanent("google_scope_not_granted", `the user did not grant ${GMAIL_READONLY_SCOPE} (granted: ${scopes.join(" ") || "nothing"}): connect again and leave it ticked`);
  if (!answer.refresh_token) throw permanent("google_no_refresh_token", "Google gave no refresh token (offline access was not granted)");
  return { refreshToken: answer.refresh_token, accessToken: answer.access_token, scopes };
}

export interface InteractiveOptions {
  /** Shows the user the URL to open (prints it, or, in the local sandbox, follows it). */
  open(url: string): Promise<void> | void;
  timeoutMs: number;
  port?: number;
  loginHint?: string;
}

/** The whole flow: a loopback redirect, the URL, the redirect with the right state, the exchange. */
export async function authorizeInstalledApp(client: GoogleOAuthClient, options: InteractiveOptions): Promise<GoogleGrant> {
  const state = randomState();
  const pkce = createPkce();
  const loopback = await startLoopbackRedirect({ state, timeoutMs: options.timeoutMs, ...(options.port ? { port: options.port } : {}) });
  try {
    await options.open(googleAuthorizationUrl(client, { redirectUri: loopback.redirectUri, state, pkce, ...(options.loginHint ? { loginHint: options.loginHint } : {}) }));
    const query = await loopback.callback;
    const error = query.get("error");
    if (error) throw new InletError(error === "access_denied" ? "google_consent_declined" : `google_authorization_${error}`, `Google did not grant access (${error})`, { disposition: "dead_letter" });
    const code = query.get("code");
    if (!code) throw permanent("google_authorization_no_code", "the redirect carried no authorization code");
    return await exchangeGoogleCode(client, { code, verifier: pkce.verifier, redirectUri: loopback.redirectUri });
  } finally {
    await loopback.close();
  }
}
