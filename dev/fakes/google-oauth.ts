// Google's OAuth 2.0 server, locally, as the Gmail fake's token side (dev/fakes/gmail.ts):
//   GET  /o/oauth2/v2/auth    the authorization endpoint of the installed-app flow: a loopback
//                             redirect_uri (127.0.0.1, [::1] or localhost, any port), response_type
//                             code, PKCE (S256 or plain) checked at the exchange; the "browser" is
//                             signed in with signIn() and approves or denies (consentDecision), and
//                             may grant fewer scopes than asked (grantedScopes)
//   POST /token               authorization_code (redirect_uri and code_verifier checked, a code
//                             works once: a replayed code is invalid_grant and revokes what it gave),
//                             refresh_token, and urn:ietf:params:oauth:grant-type:jwt-bearer (a
//                             service account's RS256 JWT: signature, aud, one-hour window, sub in
//                             the account's domain, scopes delegated to it by the domain's admin)
//   POST /imap/introspect     RFC 7662 introspection as Gmail's IMAP server would judge a token
//                             (for Dovecot's oauth2 passdb): active with the user's address only
//                             while unexpired and carrying https://mail.google.com/
// Errors in Google's shapes: invalid_client (401), invalid_grant (400) with "Bad Request",
// "Token has been expired or revoked.", "Invalid code verifier.", unauthorized_client (401).
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { htmlPage, isLoopbackRedirect, redirect, withQuery, type FakeRequest, type FakeResponse, type Route } from "./http-server.ts";

export const GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly";
export const MAIL_GOOGLE_COM = "https://mail.google.com/";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CODE_LIFETIME_MS = 10 * 60_000;

export interface FakeGoogleClient {
  clientId: string;
  clientSecret: string;
  /** A refresh token issued elsewhere (not bound to a user: it reads any mailbox). */
  refreshToken?: string;
}

/** A service account key file as Google's console downloads it. */
export interface ServiceAccountKeyFile {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

interface Code {
  clientId: string;
  redirectUri: string;
  user: string;
  scopes: string[];
  challenge?: { value: string; method: "S256" | "plain" };
  offline: boolean;
  expiresAt: number;
  used: boolean;
  /** What the exchange issued, revoked if the code is replayed. */
  issued: string[];
}

interface Grant {
  clientId: string;
  user: string | undefined;
  scopes: string[];
  revoked: boolean;
}

interface Token {
  user: string | undefined;
  scopes: string[];
  expiresAt: number;
  clientId: string;
  refreshToken?: string;
}

interface ServiceAccount {
  clientEmail: string;
  clientId: string;
  privateKeyId: string;
  publicKey: KeyObject;
  domain: string;
  delegatedScopes: Set<string>;
}

export type TokenCheck = { ok: true; token: Token } | { ok: false; status: 401 | 403 };

export interface GoogleOAuthFake {
  routes: Route[];
  /** Whether the request's bearer token may read `user`'s mail (401: no such or expired token). */
  check(req: FakeRequest, user: string): TokenCheck;
  tokenRequests(): number;
  tokenExpiresIn: number;
  addClient(client: FakeGoogleClient): void;
  /** The user the "browser" is signed in as at the authorization endpoint. */
  signIn(user: string | undefined): void;
  consentDecision: "approve" | "deny";
  /** When set, the user grants only these of the scopes asked for (granular consent). */
  grantedScopes: string[] | undefined;
  /** Refuse every access token issued so far (refresh tokens still work). */
  revokeTokens(): void;
  /** The user removes the app's access: its refresh tokens answer invalid_grant, its tokens 401. */
  revokeGrant(user: string): void;
  /** One refresh token revoked (also one registered with addClient), with the tokens it gave. */
  revokeRefreshToken(refreshToken: string): void;
  /** A service account whose client id the domain's admin delegated `scopes` to. */
  createServiceAccount(options: { clientEmail: string; domain: string; scopes: string[] }): ServiceAccountKeyFile;
  /** The domain's admin removes (or changes) the delegation. */
  setDelegatedScopes(clientEmail: string, scopes: string[]): void;
  introspections(): { token: string; active: boolean; expired: boolean }[];
  /** The refresh tokens issued to `user` (for tests that look for them where they must not be). */
  refreshTokensOf(user: string): string[];
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("base64url");
const json = (status: number, body: object): FakeResponse => ({ status, body, headers: { "cache-control": "no-store" } });
const tokenError = (status: number, error: string, description: string) => json(status, { error, error_description: description });

export function createGoogleOAuth(serverUrl: () => string, faults: { apply(key: string): Promise<FakeResponse | undefined> }): GoogleOAuthFake {
  const clients = new Map<string, FakeGoogleClient>();
  const codes = new Map<string, Code>();
  const grants = new Map<string, Grant>(); // refresh token → grant
  const tokens = new Map<string, Token>();
  const accounts = new Map<string, ServiceAccount>();
  const introspections: { token: string; active: boolean; expired: boolean }[] = [];
  let tokenRequests = 0;
  let signedIn: string | undefined;

  const issue = (clientId: string, user: string | undefined, scopes: string[], refreshToken?: string): { access_token: string; expires_in: number } => {
    const token = `ya29.${randomBytes(24).toString("base64url")}`;
    tokens.set(token, { user, scopes, clientId, expiresAt: Date.now() + fake.tokenExpiresIn * 1000, ...(refreshToken ? { refreshToken } : {}) });
    return { access_token: token, expires_in: fake.tokenExpiresIn };
  };

  const clientAuth = (form: URLSearchParams): FakeGoogleClient | FakeResponse => {
    const client = clients.get(form.get("client_id") ?? "");
    if (!client) return tokenError(401, "invalid_client", "The OAuth client was not found.");
    if (client.clientSecret !== form.get("client_secret")) return tokenError(401, "invalid_client", "Unauthorized");
    return client;
  };

  const authorizationCode = (form: URLSearchParams): FakeResponse => {
    const client = clientAuth(form);
    if ("status" in client) return client;
    const code = codes.get(form.get("code") ?? "");
    if (!code || code.clientId !== client.clientId || code.expiresAt < Date.now()) return tokenError(400, "invalid_grant", "Malformed auth code.");
    if (code.used) {
      // A code presented twice: refuse it, and revoke what its first exchange gave (RFC 6749 4.1.2).
      for (const issued of code.issued) {
        const grant = grants.get(issued);
        if (grant) grant.revoked = true;
        tokens.delete(issued);
      }
      return tokenError(400, "invalid_grant", "Bad Request");
    }
    if (form.get("redirect_uri") !== code.redirectUri) return tokenError(400, "redirect_uri_mismatch", "Bad Request");
    if (code.challenge) {
      const verifier = form.get("code_verifier");
      if (!verifier) return tokenError(400, "invalid_grant", "Missing code verifier.");
      const derived = code.challenge.method === "S256" ? sha256(verifier) : verifier;
      if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || derived !== code.challenge.value) return tokenError(400, "invalid_grant", "Invalid code verifier.");
    }
    code.used = true;
    const refreshToken = code.offline ? `1//0${randomBytes(30).toString("base64url")}` : undefined;
    if (refreshToken) grants.set(refreshToken, { clientId: client.clientId, user: code.user, scopes: code.scopes, revoked: false });
    const access = issue(client.clientId, code.user, code.scopes, refreshToken);
    code.issued = [access.access_token, ...(refreshToken ? [refreshToken] : [])];
    return json(200, { ...access, token_type: "Bearer", scope: code.scopes.join(" "), ...(refreshToken ? { refresh_token: refreshToken } : {}) });
  };

  const refresh = (form: URLSearchParams): FakeResponse => {
    const client = clientAuth(form);
    if ("status" in client) return client;
    const refreshToken = form.get("refresh_token") ?? "";
    const grant = grants.get(refreshToken);
    if (grant && !grant.revoked && grant.clientId === client.clientId) return json(200, { ...issue(client.clientId, grant.user, grant.scopes, refreshToken), token_type: "Bearer", scope: grant.scopes.join(" ") });
    if (!grant && client.refreshToken && client.refreshToken === refreshToken) return json(200, { ...issue(client.clientId, undefined, [GMAIL_READONLY, MAIL_GOOGLE_COM], refreshToken), token_type: "Bearer", scope: GMAIL_READONLY });
    return tokenError(400, "invalid_grant", "Token has been expired or revoked.");
  };

  const jwtBearer = async (form: URLSearchParams): Promise<FakeResponse> => {
    const assertion = form.get("assertion") ?? "";
    let claims: ReturnType<typeof decodeJwt>;
    let kid: string | undefined;
    try {
      claims = decodeJwt(assertion);
      kid = decodeProtectedHeader(assertion).kid;
    } catch {
      return tokenError(400, "invalid_grant", "Invalid JWT: malformed.");
    }
    const account = accounts.get(String(claims.iss ?? ""));
    if (!account || kid !== account.privateKeyId) return tokenError(400, "invalid_grant", "Invalid JWT Signature.");
    try {
      await jwtVerify(assertion, account.publicKey, { algorithms: ["RS256"], issuer: account.clientEmail, audience: `${serverUrl()}/token`, maxTokenAge: "3600s", clockTolerance: 30 });
    } catch (error) {
      const signature = String((error as { code?: string }).code ?? "").includes("SIGNATURE");
      return tokenError(400, "invalid_grant", signature ? "Invalid JWT Signature." : "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.");
    }
    const subject = typeof claims.sub === "string" ? claims.sub.toLowerCase() : "";
    const scopes = String(claims.scope ?? "").split(" ").filter(Boolean);
    if (!subject.endsWith(`@${account.domain}`) || scopes.length === 0 || !scopes.every((s) => account.delegatedScopes.has(s))) {
      return tokenError(401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.");
    }
    return json(200, { ...issue(account.clientId, subject, scopes), token_type: "Bearer" });
  };

  const authorize = (req: FakeRequest): FakeResponse => {
    const q = req.url.searchParams;
    const client = clients.get(q.get("client_id") ?? "");
    if (!client) return htmlPage(401, "Error 401: invalid_client", "The OAuth client was not found.");
    const redirectUri = q.get("redirect_uri") ?? "";
    if (!isLoopbackRedirect(redirectUri)) return htmlPage(400, "Error 400: redirect_uri_mismatch", "Installed apps redirect to a loopback address.");
    if (q.get("response_type") !== "code") return htmlPage(400, "Error 400: invalid_request", "response_type must be code.");
    const scopes = (q.get("scope") ?? "").split(" ").filter(Boolean);
    if (scopes.length === 0) return htmlPage(400, "Error 400: invalid_request", "Missing required parameter: scope");
    const challenge = q.get("code_challenge");
    const method = q.get("code_challenge_method") ?? "plain";
    if (challenge && (!/^[A-Za-z0-9._~-]{43,128}$/.test(challenge) || (method !== "S256" && method !== "plain"))) return htmlPage(400, "Error 400: invalid_request", "Invalid code_challenge or code_challenge_method.");
    const state = q.get("state");
    const answer = (params: Record<string, string>) => redirect(withQuery(redirectUri, { ...(state !== null ? { state } : {}), ...params }));
    if (!signedIn) return htmlPage(200, "Sign in", "Sign in to continue to the app.");
    if (fake.consentDecision === "deny") return answer({ error: "access_denied" });
    const granted = fake.grantedScopes ? scopes.filter((s) => fake.grantedScopes!.includes(s)) : scopes;
    if (granted.length === 0) return answer({ error: "access_denied" });
    const code = `4/0A${randomBytes(30).toString("base64url")}`;
    codes.set(code, { clientId: client.clientId, redirectUri, user: signedIn, scopes: granted, offline: q.get("access_type") === "offline", expiresAt: Date.now() + CODE_LIFETIME_MS, used: false, issued: [], ...(challenge ? { challenge: { value: challenge, method: method as "S256" | "plain" } } : {}) });
    return answer({ code, scope: granted.join(" ") });
  };

  const introspect = (req: FakeRequest): FakeResponse => {
    const presented = new URLSearchParams(req.body.toString()).get("token") ?? "";
    const token = tokens.get(presented);
    const expired = !!token && token.expiresAt <= Date.now();
    const active = !!token && !expired && !!token.user && token.scopes.includes(MAIL_GOOGLE_COM);
    introspections.push({ token: presented, active, expired });
    if (!active) return json(200, { active: false });
    return json(200, { active: true, email: token.user, scope: token.scopes.join(" "), client_id: token.clientId, token_type: "Bearer", exp: Math.floor(token.expiresAt / 1000) });
  };

  const fake: GoogleOAuthFake = {
    tokenExpiresIn: 3599,
    consentDecision: "approve",
    grantedScopes: undefined,
    routes: [
      ["GET", /^\/o\/oauth2\/v2\/auth$/, authorize],
      [
        "POST",
        /^\/token$/,
        async (req) => {
          tokenRequests++;
          const fault = await faults.apply("token");
          if (fault) return fault;
          const form = new URLSearchParams(req.body.toString());
          switch (form.get("grant_type")) {
            case "authorization_code":
              return authorizationCode(form);
            case "refresh_token":
              return refresh(form);
            case JWT_BEARER:
              return jwtBearer(form);
            default:
              return tokenError(400, "unsupported_grant_type", "Invalid grant_type: " + (form.get("grant_type") ?? ""));
          }
        },
      ],
      ["POST", /^\/imap\/introspect$/, introspect],
    ],
    check(req, user) {
      const token = tokens.get((req.headers.authorization ?? "").replace(/^Bearer /, ""));
      if (!token || token.expiresAt <= Date.now()) return { ok: false, status: 401 };
      const grantRevoked = token.refreshToken !== undefined && grants.get(token.refreshToken)?.revoked === true;
      if (grantRevoked) return { ok: false, status: 401 };
      const mailbox = decodeURIComponent(user).toLowerCase();
      if (token.user && mailbox !== "me" && mailbox !== token.user) return { ok: false, status: 403 };
      if (!token.scopes.some((s) => s === GMAIL_READONLY || s === MAIL_GOOGLE_COM)) return { ok: false, status: 403 };
      return { ok: true, token };
    },
    tokenRequests: () => tokenRequests,
    addClient: (client) => void clients.set(client.clientId, client),
    signIn: (user) => void (signedIn = user?.toLowerCase()),
    revokeTokens: () => tokens.clear(),
    revokeGrant(user) {
      const who = user.toLowerCase();
      for (const grant of grants.values()) if (grant.user === who) grant.revoked = true;
      for (const [key, token] of tokens) if (token.user === who) tokens.delete(key);
    },
    revokeRefreshToken(refreshToken) {
      const grant = grants.get(refreshToken);
      if (grant) grant.revoked = true;
      for (const client of clients.values()) if (client.refreshToken === refreshToken) delete client.refreshToken;
      for (const [key, token] of tokens) if (token.refreshToken === refreshToken) tokens.delete(key);
    },
    createServiceAccount({ clientEmail, domain, scopes }) {
      const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const privateKeyId = randomBytes(20).toString("hex");
      const clientId = String(100000000000000000000n + BigInt(Math.floor(Math.random() * 1e15)));
      accounts.set(clientEmail, { clientEmail, clientId, privateKeyId, publicKey, domain: domain.toLowerCase(), delegatedScopes: new Set(scopes) });
      return {
        type: "service_account",
        project_id: clientEmail.split("@")[1]?.split(".")[0] ?? "project",
        private_key_id: privateKeyId,
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        client_email: clientEmail,
        client_id: clientId,
        token_uri: `${serverUrl()}/token`,
      };
    },
    setDelegatedScopes(clientEmail, scopes) {
      const account = accounts.get(clientEmail);
      if (account) account.delegatedScopes = new Set(scopes);
    },
    introspections: () => [...introspections],
    refreshTokensOf: (user) => [...grants].filter(([, g]) => g.user === user.toLowerCase()).map(([token]) => token),
  };
  return fake;
}
