// The Microsoft identity platform, locally, as the Graph fake's login side (dev/fakes/graph.ts):
//   GET  /login/{tenant}/adminconsent      admin consent for a multi-tenant app: the redirect_uri
//        must be registered on the app (a loopback one matches any port); the "browser" is signed
//        in as an admin of a tenant (signInAdmin) who approves or declines; then a redirect with
//        admin_consent=True&tenant=<id>&state=…, or error=access_denied (AADSTS65004)
//   POST /login/{tenant}/oauth2/v2.0/token  client credentials, with client_secret or a client
//        assertion (RS256 JWT, x5t naming a certificate registered on the app, aud this token
//        URL, iss and sub the client id, unexpired), for https://graph.microsoft.com/.default or
//        https://outlook.office365.com/.default; only in a tenant that consented
//   POST /login/imap/introspect             RFC 7662 introspection as Exchange Online's IMAP would
//        judge an app-only token (for Dovecot's oauth2 passdb). Dovecot passes only the token, so
//        the answer names the mailbox the app's service principal was given (grantImapMailbox).
// Errors as the platform sends them: {error, error_description "AADSTS…: …", error_codes, …}.
import { createHash, randomBytes, randomUUID, X509Certificate, type KeyObject } from "node:crypto";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { htmlPage, isLoopbackRedirect, redirect, withQuery, type FakeRequest, type FakeResponse, type Route } from "./http-server.ts";

export const GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default";
export const OUTLOOK_DEFAULT_SCOPE = "https://outlook.office365.com/.default";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export interface FakeEntraApp {
  clientId: string;
  clientSecrets?: string[];
  /** PEM certificates whose private keys may sign client assertions. */
  certificates?: string[];
  redirectUris?: string[];
}

type Audience = "graph" | "outlook";

interface App {
  clientId: string;
  secrets: Set<string>;
  certificates: Map<string, KeyObject>; // x5t → public key
  redirectUris: Set<string>;
}

interface Consent {
  status: "granted" | "withdrawn" | "deleted";
  /** What the token endpoint answers once it is withdrawn. */
  withdrawnAs: number;
}

export interface IssuedToken {
  tenant: string;
  clientId: string;
  audience: Audience;
  roles: string[];
  expiresAt: number;
}

export interface MicrosoftIdentityFake {
  routes: Route[];
  /** The token a request carries, when it is valid for `audience`. */
  tokenFor(req: FakeRequest, audience: Audience): IssuedToken | undefined;
  tokenRequests(): number;
  tokenExpiresIn: number;
  registerApp(app: FakeEntraApp): void;
  /** The app registered (if need be) with this secret, and consented in the tenant. */
  addApp(app: { azureTenantId: string; clientId: string; clientSecret?: string; certificate?: string }): void;
  signInAdmin(tenant: string | undefined): void;
  consentDecision: "approve" | "deny";
  consented(tenant: string, clientId: string): boolean;
  /** The tenant's admin takes the consent back (AADSTS65001 by default) or deletes the app's
   * service principal (700016); tokens issued to it stop working. */
  withdrawConsent(tenant: string, clientId: string, as?: 65001 | 700016): void;
  /** Exchange's mailbox permission for the app's service principal, as IMAP introspection reports it. */
  grantImapMailbox(tenant: string, clientId: string, mailbox: string): void;
  revokeTokens(): void;
  introspections(): { active: boolean; expired: boolean }[];
}

const thumbprint = (pem: string) => {
  const certificate = new X509Certificate(pem);
  return { x5t: createHash("sha1").update(certificate.raw).digest("base64url"), key: certificate.publicKey };
};

const aadError = (status: number, error: string, code: number, text: string): FakeResponse => ({
  status,
  body: { error, error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`, error_codes: [code], timestamp: new Date().toISOString(), trace_id: randomUUID(), correlation_id: randomUUID() },
});

export function createMicrosoftIdentity(serverUrl: () => string, faults: { apply(key: string): Promise<FakeResponse | undefined> }): MicrosoftIdentityFake {
  const apps = new Map<string, App>();
  const consents = new Map<string, Consent>(); // `${tenant}:${clientId}`
  const imapMailboxes = new Map<string, string>();
  const tokens = new Map<string, IssuedToken>();
  const introspections: { active: boolean; expired: boolean }[] = [];
  let tokenRequests = 0;
  let signedInTenant: string | undefined;
  const key = (tenant: string, clientId: string) => `${tenant.toLowerCase()}:${clientId}`;

  const register = (input: FakeEntraApp): App => {
    const app = apps.get(input.clientId) ?? { clientId: input.clientId, secrets: new Set<string>(), certificates: new Map<string, KeyObject>(), redirectUris: new Set<string>() };
    for (const secret of input.clientSecrets ?? []) app.secrets.add(secret);
    for (const pem of input.certificates ?? []) {
      const { x5t, key: publicKey } = thumbprint(pem);
      app.certificates.set(x5t, publicKey);
    }
    for (const uri of input.redirectUris ?? []) app.redirectUris.add(uri);
    apps.set(app.clientId, app);
    return app;
  };

  const redirectAllowed = (app: App, uri: string) =>
    app.redirectUris.has(uri) || (isLoopbackRedirect(uri) && [...app.redirectUris].some((r) => isLoopbackRedirect(r) && new URL(r).hostname === new URL(uri).hostname && new URL(r).port === "" && new URL(r).pathname === new URL(uri).pathname));

  const adminConsent = (req: FakeRequest, tenantInPath: string): FakeResponse => {
    const q = req.url.searchParams;
    const app = apps.get(q.get("client_id") ?? "");
    if (!app) return htmlPage(400, "Sign in", `AADSTS700016: Application with identifier '${q.get("client_id") ?? ""}' was not found in the directory.`);
    const redirectUri = q.get("redirect_uri") ?? "";
    if (!redirectAllowed(app, redirectUri)) return htmlPage(400, "Sign in", `AADSTS50011: The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'.`);
    if (!signedInTenant) return htmlPage(200, "Sign in", "Sign in with an administrator account of the organisation.");
    const anyTenant = ["organizations", "common"].includes(tenantInPath.toLowerCase());
    if (!anyTenant && tenantInPath.toLowerCase() !== signedInTenant.toLowerCase()) return htmlPage(400, "Sign in", `AADSTS50020: The signed-in account is not from tenant '${tenantInPath}'.`);
    const state = q.get("state");
    const params = (extra: Record<string, string>) => withQuery(redirectUri, { ...extra, ...(state !== null ? { state } : {}) });
    if (fake.consentDecision === "deny") return redirect(params({ error: "access_denied", error_subcode: "cancel", error_description: "AADSTS65004: User declined to consent to access the app." }));
    consents.set(key(signedInTenant, app.clientId), { status: "granted", withdrawnAs: 65001 });
    return redirect(params({ admin_consent: "True", tenant: signedInTenant }));
  };

  const authenticate = async (app: App, form: URLSearchParams, tokenUrl: string): Promise<FakeResponse | undefined> => {
    const secret = form.get("client_secret");
    const assertion = form.get("client_assertion");
    if (secret !== null) return app.secrets.has(secret) ? undefined : aadError(401, "invalid_client", 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`);
    if (assertion === null) return aadError(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    if (form.get("client_assertion_type") !== ASSERTION_TYPE) return aadError(400, "invalid_request", 50027, "Invalid JWT token. client_assertion_type is not urn:ietf:params:oauth:client-assertion-type:jwt-bearer.");
    let x5t: unknown;
    try {
      x5t = decodeProtectedHeader(assertion).x5t;
    } catch {
      return aadError(401, "invalid_client", 50027, "Invalid JWT token. The token is malformed.");
    }
    const publicKey = typeof x5t === "string" ? app.certificates.get(x5t) : undefined;
    if (!publicKey) return aadError(401, "invalid_client", 700027, `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${String(x5t ?? "")}']`);
    try {
      await jwtVerify(assertion, publicKey, { algorithms: ["RS256"], issuer: app.clientId, subject: app.clientId, audience: tokenUrl, clockTolerance: 30 });
    } catch (error) {
      const code = String((error as { code?: string }).code ?? "");
      if (code === "ERR_JWT_EXPIRED") return aadError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.");
      if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") return aadError(401, "invalid_client", 700021, `Client assertion application identifier doesn't match 'client_id' parameter, or its audience is not ${tokenUrl}.`);
      return aadError(401, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - The key used is not the key of the registered certificate.]");
    }
    return undefined;
  };

  const token = async (req: FakeRequest, tenant: string): Promise<FakeResponse> => {
    tokenRequests++;
    const fault = await faults.apply("token");
    if (fault) return fault;
    const form = new URLSearchParams(req.body.toString());
    const scope = form.get("scope");
    const audience: Audience | undefined = scope === GRAPH_DEFAULT_SCOPE ? "graph" : scope === OUTLOOK_DEFAULT_SCOPE ? "outlook" : undefined;
    if (!audience) return aadError(400, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).");
    if (form.get("grant_type") !== "client_credentials") return aadError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
    const app = apps.get(form.get("client_id") ?? "");
    if (!app) return aadError(400, "unauthorized_client", 700016, `Application with identifier '${form.get("client_id") ?? ""}' was not found in the directory '${tenant}'.`);
    const refused = await authenticate(app, form, `${serverUrl()}/login/${tenant}/oauth2/v2.0/token`);
    if (refused) return refused;
    const consent = consents.get(key(tenant, app.clientId));
    if (!consent || consent.status === "deleted" || (consent.status === "withdrawn" && consent.withdrawnAs === 700016)) {
      return aadError(400, "unauthorized_client", 700016, `Application with identifier '${app.clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`);
    }
    if (consent.status === "withdrawn") return aadError(400, "invalid_grant", 65001, `The user or administrator has not consented to use the application with ID '${app.clientId}'. Send an interactive authorization request for this user and resource.`);
    const issued = `eyJ0eXAiOiJKV1QifQ.${randomBytes(24).toString("base64url")}.${randomBytes(16).toString("base64url")}`;
    tokens.set(issued, { tenant: tenant.toLowerCase(), clientId: app.clientId, audience, roles: audience === "graph" ? ["Mail.Read"] : ["IMAP.AccessAsApp"], expiresAt: Date.now() + fake.tokenExpiresIn * 1000 });
    return { status: 200, body: { token_type: "Bearer", expires_in: fake.tokenExpiresIn, ext_expires_in: fake.tokenExpiresIn, access_token: issued } };
  };

  const introspect = (req: FakeRequest): FakeResponse => {
    const presented = tokens.get(new URLSearchParams(req.body.toString()).get("token") ?? "");
    const expired = !!presented && presented.expiresAt <= Date.now();
    const mailbox = presented ? imapMailboxes.get(key(presented.tenant, presented.clientId)) : undefined;
    const active = !!presented && !expired && presented.audience === "outlook" && !!mailbox;
    introspections.push({ active, expired });
    if (!active) return { status: 200, body: { active: false } };
    return { status: 200, body: { active: true, email: mailbox, client_id: presented.clientId, tid: presented.tenant, roles: presented.roles, exp: Math.floor(presented.expiresAt / 1000) } };
  };

  const fake: MicrosoftIdentityFake = {
    tokenExpiresIn: 3599,
    consentDecision: "approve",
    routes: [
      ["GET", /^\/login\/([^/]+)\/adminconsent$/, (req, m) => adminConsent(req, decodeURIComponent(m[1]!))],
      ["POST", /^\/login\/([^/]+)\/oauth2\/v2\.0\/token$/, (req, m) => token(req, decodeURIComponent(m[1]!))],
      ["POST", /^\/login\/imap\/introspect$/, introspect],
    ],
    tokenFor(req, audience) {
      const issued = tokens.get((req.headers.authorization ?? "").replace(/^Bearer /, ""));
      if (!issued || issued.audience !== audience || issued.expiresAt <= Date.now()) return undefined;
      return consents.get(key(issued.tenant, issued.clientId))?.status === "granted" ? issued : undefined;
    },
    tokenRequests: () => tokenRequests,
    registerApp: (app) => void register(app),
    addApp(app) {
      register({ clientId: app.clientId, ...(app.clientSecret ? { clientSecrets: [app.clientSecret] } : {}), ...(app.certificate ? { certificates: [app.certificate] } : {}) });
      consents.set(key(app.azureTenantId, app.clientId), { status: "granted", withdrawnAs: 65001 });
    },
    signInAdmin: (tenant) => void (signedInTenant = tenant),
    consented: (tenant, clientId) => consents.get(key(tenant, clientId))?.status === "granted",
    withdrawConsent(tenant, clientId, as = 65001) {
      consents.set(key(tenant, clientId), { status: "withdrawn", withdrawnAs: as });
      for (const [t, issued] of tokens) if (issued.tenant === tenant.toLowerCase() && issued.clientId === clientId) tokens.delete(t);
    },
    grantImapMailbox: (tenant, clientId, mailbox) => void imapMailboxes.set(key(tenant, clientId), mailbox.toLowerCase()),
    revokeTokens: () => tokens.clear(),
    introspections: () => [...introspections],
  };
  return fake;
}
