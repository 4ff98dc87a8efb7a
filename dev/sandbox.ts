// The local provider sandbox for `inlet dev` and `inlet demo`: Microsoft Graph, Gmail and Google's
// OAuth endpoints, a JWKS for Pub/Sub push tokens, and (when Dovecot is installed) an IMAP
// server, all on loopback, speaking the providers' wire formats. Nothing leaves the machine.
import { startFakeGraph, type FakeGraph } from "./fakes/graph.ts";
import { startFakeGmail, type FakeGmail } from "./fakes/gmail.ts";
import { startJwksServer, type JwksServer } from "./fakes/jwks.ts";
import { dovecotInstalled, startDovecot, type Dovecot } from "./dovecot.ts";

export const SANDBOX = {
  microsoft: { azureTenantId: "sandbox-tenant", clientId: "inlet-sandbox-app", clientSecret: "sandbox-app-secret", mailbox: "helpdesk@contoso.example" },
  google: { clientId: "inlet-sandbox.apps.googleusercontent.com", clientSecret: "sandbox-oauth-secret", address: "support@fabrikam.example", topic: "projects/inlet-sandbox/topics/gmail" },
  imap: { user: "service@tailspin.example", password: "sandbox-imap-password" },
  pushServiceAccount: "gmail-push@inlet-sandbox.iam.gserviceaccount.com",
} as const;

export interface Sandbox {
  graph: FakeGraph;
  gmail: FakeGmail;
  jwks: JwksServer;
  dovecot: Dovecot | undefined;
  urls: { graph: string; gmail: string; jwks: string; imap?: string };
  /** Worker variables that point the edge at the sandbox (JWKS, Pub/Sub audience, push identity). */
  workerVars(workerUrl: string): Record<string, string>;
  consumerEnv: Record<string, string>;
  close(): Promise<void>;
}

export async function startSandbox(): Promise<Sandbox> {
  const [graph, gmail, jwks] = await Promise.all([startFakeGraph(), startFakeGmail(), startJwksServer()]);
  // Registered, not consented: `inlet demo` connects the mailboxes through the consent flows,
  // as a customer's administrator and a Gmail user would, the sandbox playing their browser.
  graph.identity.registerApp({ clientId: SANDBOX.microsoft.clientId, clientSecrets: [SANDBOX.microsoft.clientSecret], redirectUris: ["http://127.0.0.1"] });
  graph.identity.signInAdmin(SANDBOX.microsoft.azureTenantId);
  gmail.addClient({ clientId: SANDBOX.google.clientId, clientSecret: SANDBOX.google.clientSecret });
  gmail.oauth.signIn(SANDBOX.google.address);
  const dovecot = dovecotInstalled() ? await startDovecot([{ user: SANDBOX.imap.user, password: SANDBOX.imap.password }]).catch(() => undefined) : undefined;
  return {
    graph,
    gmail,
    jwks,
    dovecot,
    urls: { graph: graph.url, gmail: gmail.url, jwks: jwks.url, ...(dovecot ? { imap: `imap://${dovecot.host}:${dovecot.port}` } : {}) },
    workerVars: (workerUrl) => ({
      GOOGLE_JWKS_URL: jwks.url,
      GOOGLE_PUBSUB_AUDIENCE: `${workerUrl}/webhooks/google`,
      GOOGLE_PUBSUB_SERVICE_ACCOUNTS: SANDBOX.pushServiceAccount,
    }),
    consumerEnv: {
      MICROSOFT_GRAPH_BASE_URL: graph.graphBaseUrl,
      MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl,
      GMAIL_API_BASE_URL: gmail.gmailBaseUrl,
      GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl,
      GOOGLE_OAUTH_AUTHORIZATION_URL: gmail.authorizationUrl,
    },
    async close() {
      await Promise.all([graph.close(), gmail.close(), jwks.close(), dovecot?.stop()]);
    },
  };
}
