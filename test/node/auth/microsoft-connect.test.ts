// Connecting Microsoft 365 mailboxes against the local identity platform and Graph: the
// admin-consent URL, `inlet providers connect microsoft` with the consent redirect on a loopback
// port (state checked, the consenting tenant learnt from it), an app that proves itself with a
// certificate (client assertion, x5t), and `inlet providers check` proving that the grant reads
// the mailbox.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { openPostgres } from "../../../consumer/store/postgres.ts";
import { startFakeGraph, type FakeGraph } from "../../../dev/fakes/graph.ts";
import { followAsBrowser, inlet, startInlet } from "../../support/cli.ts";
import { createPostgresDatabase } from "../../support/database.ts";
import { testQueue, type TestQueue } from "../../support/queues.ts";
import { keyEntry, keyRing, selfSignedCertificate } from "../../support/secrets.ts";

const APP = { clientId: "11111111-2222-3333-4444-555555555555", clientSecret: "Q8~app-client-secret" };
const CUSTOMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad";
const KEY = keyEntry("k1");

let graph: FakeGraph;
let database: { url: string; drop(): Promise<void> };
let q: TestQueue;
let ingress: Server;
let env: Record<string, string | undefined>;
let dir: string;
const certificate = selfSignedCertificate("inlet-app");
const strangerCertificate = selfSignedCertificate("not-registered");

beforeAll(async () => {
  [graph, database] = await Promise.all([startFakeGraph(), createPostgresDatabase()]);
  graph.identity.registerApp({ clientId: APP.clientId, clientSecrets: [APP.clientSecret], certificates: [certificate.certificatePem], redirectUris: ["http://127.0.0.1"] });
  graph.identity.signInAdmin(CUSTOMER_TENANT);
  q = testQueue("tcp");
  ingress = createServer((req, res) => {
    const token = new URL(req.url ?? "/", "http://x").searchParams.get("validationToken");
    res.writeHead(token ? 200 : 202, { "content-type": "text/plain" }).end(token ?? "");
  });
  await new Promise<void>((r) => ingress.listen(0, "127.0.0.1", r));
  const address = ingress.address();
  dir = mkdtempSync(join(tmpdir(), "inlet-cert-"));
  writeFileSync(join(dir, "app.pem"), certificate.certificatePem + certificate.privateKeyPem);
  writeFileSync(join(dir, "stranger.pem"), strangerCertificate.certificatePem + strangerCertificate.privateKeyPem);
  env = {
    REDIS_URL: inject("redisUrl"),
    UPSTASH_REDIS_REST_URL: undefined,
    UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: q.settings.keys.ready.replace(/ready$/, ""),
    DATABASE_URL: database.url,
    MICROSOFT_GRAPH_BASE_URL: graph.graphBaseUrl,
    MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl,
    INGRESS_URL: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
    INLET_SECRETS_KEY: KEY,
  };
});

afterAll(async () => {
  await Promise.all([graph?.close(), q?.close(), new Promise((r) => ingress?.close(r))]);
  await database?.drop();
});

const consent = async (args: string[]) => {
  const cli = startInlet(["providers", "connect", "microsoft", "--tenant", "contoso", "--client-id", APP.clientId, "--timeout", "30", "--wait-for-grant", "0", ...args], env);
  const [, printed] = await cli.stderrMatch(/\n {2}(http\S+)\n/);
  return { cli, url: new URL(printed!) };
};

describe("Microsoft admin consent", () => {
  it("consent-url prints the admin-consent URL for the app, the redirect and a state", async () => {
    const result = await inlet(["providers", "consent-url", "microsoft", "--client-id", APP.clientId, "--redirect-uri", "https://helpdesk.example/consented", "--azure-tenant", "contoso.onmicrosoft.com", "--json"], env);
    expect(result.code).toBe(0);
    const { url, state } = JSON.parse(result.stdout) as { url: string; state: string };
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe(`${graph.loginBaseUrl}/contoso.onmicrosoft.com/adminconsent`);
    expect(Object.fromEntries(parsed.searchParams)).toEqual({ client_id: APP.clientId, redirect_uri: "https://helpdesk.example/consented", state });
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await inlet(["providers", "consent-url", "google", "--client-id", "x", "--redirect-uri", "https://x.example"], env)).code).toBe(2);
  });

  it("connect microsoft: the admin consents, the tenant comes back with the state (a forged redirect is refused), the app's token reads the mailbox, the subscription is made", async () => {
    expect(graph.identity.consented(CUSTOMER_TENANT, APP.clientId)).toBe(false);
    const { cli, url } = await consent(["--mailbox", "helpdesk@contoso.example", "--client-secret", APP.clientSecret]);
    expect(`${url.origin}${url.pathname}`).toBe(`${graph.loginBaseUrl}/organizations/adminconsent`);
    const redirectUri = url.searchParams.get("redirect_uri")!;
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await fetch(`${redirectUri}?admin_consent=True&tenant=attacker-tenant&state=forged`)).status).toBe(400);
    expect((await followAsBrowser(url.toString())).body).toContain("Connected");
    const result = await cli.result;
    expect(result.stderr).not.toContain("inlet:");
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { providerId: string; subscriptionId: string };
    expect(out).toMatchObject({ kind: "microsoft", address: "helpdesk@contoso.example", connectedAs: "new" });
    expect(graph.identity.consented(CUSTOMER_TENANT, APP.clientId)).toBe(true);
    expect(graph.subscriptions().map((s) => s.id)).toContain(out.subscriptionId);
    const db = openPostgres(database.url);
    const stored = await new Mailboxes(db, {}, keyRing(KEY)).get(out.providerId);
    expect(stored?.credentials).toEqual({ type: "microsoft", azureTenantId: CUSTOMER_TENANT, ...APP });
    const [row] = await db.query<{ text: string }>("SELECT credentials::text AS text FROM mailbox_providers WHERE id = $1", [out.providerId]);
    expect(row!.text).not.toContain(APP.clientSecret);
    await db.close();
    expect(result.stdout + result.stderr).not.toContain(APP.clientSecret);
  });

  it("an app with a certificate: the token comes by a client assertion (RS256, x5t of the registered certificate); an unregistered certificate is refused", async () => {
    const result = await inlet(["providers", "add", "microsoft", "--tenant", "contoso", "--mailbox", "sales@contoso.example", "--azure-tenant", CUSTOMER_TENANT, "--client-id", APP.clientId, "--certificate", join(dir, "app.pem")], env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const { providerId } = JSON.parse(result.stdout) as { providerId: string };
    const db = openPostgres(database.url);
    const stored = (await new Mailboxes(db, {}, keyRing(KEY)).get(providerId))!;
    expect(stored.credentials).toMatchObject({ certificate: { thumbprint: expect.stringMatching(/^[A-Za-z0-9_-]{27}$/), privateKey: certificate.privateKeyPem } });
    const [row] = await db.query<{ text: string }>("SELECT credentials::text AS text FROM mailbox_providers WHERE id = $1", [providerId]);
    expect(row!.text).not.toContain("PRIVATE KEY");
    await db.close();
    const check = await inlet(["providers", "check", providerId, "--json"], env);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, steps: [{ step: "token", ok: true, detail: expect.stringContaining("certificate") }, { step: "inbox", ok: true }] });

    const stranger = await inlet(["providers", "add", "microsoft", "--tenant", "contoso", "--mailbox", "other@contoso.example", "--azure-tenant", CUSTOMER_TENANT, "--client-id", APP.clientId, "--certificate", join(dir, "stranger.pem")], env);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/could not connect microsoft mailbox other@contoso.example: microsoft: the token endpoint refused the grant \(invalid_client: AADSTS700027: Client assertion contains an invalid signature/);
  });

  it("check: the grant reads the mailbox, or says it does not (access denied for the mailbox, consent withdrawn)", async () => {
    const list = JSON.parse((await inlet(["providers", "list", "--json"], env)).stdout) as { id: string; address: string }[];
    const id = list.find((m) => m.address === "helpdesk@contoso.example")!.id;
    const ok = await inlet(["providers", "check", id], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("helpdesk@contoso.example: the grant reads the mailbox");
    graph.denyMailbox("helpdesk@contoso.example");
    const denied = await inlet(["providers", "check", id, "--json"], env);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout)).toMatchObject({ ok: false, steps: [{ step: "token", ok: true }, { step: "inbox", ok: false, code: "microsoft_access_denied" }] });
    graph.denyMailbox("helpdesk@contoso.example", false);
    graph.identity.withdrawConsent(CUSTOMER_TENANT, APP.clientId);
    const withdrawn = await inlet(["providers", "check", id, "--json"], env);
    expect(JSON.parse(withdrawn.stdout)).toMatchObject({ ok: false, steps: [{ step: "token", ok: false, code: "microsoft_consent_revoked", detail: expect.stringContaining("AADSTS65001") }] });
  });

  it("an administrator who declines ends the command with the platform's reason", async () => {
    graph.identity.consentDecision = "deny";
    try {
      const { cli, url } = await consent(["--mailbox", "declined@contoso.example", "--client-secret", APP.clientSecret]);
      await followAsBrowser(url.toString());
      const result = await cli.result;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("could not connect microsoft mailbox declined@contoso.example: the administrator did not consent (access_denied: AADSTS65004: User declined to consent to access the app.)");
    } finally {
      graph.identity.consentDecision = "approve";
    }
  });
});
