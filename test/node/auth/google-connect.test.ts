// Connecting Gmail mailboxes against the local Google fake: the installed-app flow as a user runs
// it (`inlet providers connect google`, the browser played by the test), with PKCE and state; a
// forged redirect and a replayed code refused; and Workspace domain-wide delegation (a service
// account's JWT-bearer grant) for several mailboxes at once.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { createPkce } from "../../../consumer/oauth/pkce.ts";
import { exchangeGoogleCode, googleAuthorizationUrl } from "../../../consumer/oauth/google-installed-app.ts";
import { Mailboxes } from "../../../consumer/store/mailboxes.ts";
import { openPostgres } from "../../../consumer/store/postgres.ts";
import { registryField } from "../../../src/queue/registry.ts";
import { startFakeGmail, type FakeGmail } from "../../../dev/fakes/gmail.ts";
import { followAsBrowser, inlet, startInlet } from "../../support/cli.ts";
import { createPostgresDatabase } from "../../support/database.ts";
import { outcomeOf } from "../../support/outcome.ts";
import { readyRaws, testQueue, type TestQueue } from "../../support/queues.ts";
import { keyEntry, keyRing } from "../../support/secrets.ts";

const CLIENT = { clientId: "inlet-desktop.apps.googleusercontent.com", clientSecret: "GOCSPX-desktop-secret" };
const USER = "owner@fabrikam.example";
const TOPIC = "projects/fabrikam/topics/gmail";
const KEY = keyEntry("k1");

let gmail: FakeGmail;
let database: { url: string; drop(): Promise<void> };
let q: TestQueue;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  [gmail, database] = await Promise.all([startFakeGmail(), createPostgresDatabase()]);
  gmail.addClient(CLIENT);
  gmail.oauth.signIn(USER);
  q = testQueue("tcp");
  env = {
    REDIS_URL: inject("redisUrl"),
    UPSTASH_REDIS_REST_URL: undefined,
    UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: q.settings.keys.ready.replace(/ready$/, ""),
    DATABASE_URL: database.url,
    GMAIL_API_BASE_URL: gmail.gmailBaseUrl,
    GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl,
    GOOGLE_OAUTH_AUTHORIZATION_URL: gmail.authorizationUrl,
    INLET_SECRETS_KEY: KEY,
  };
});

afterAll(async () => {
  await Promise.all([gmail?.close(), q?.close()]);
  await database?.drop();
});

const connectArgs = ["providers", "connect", "google", "--tenant", "fabrikam", "--client-id", CLIENT.clientId, "--client-secret", CLIENT.clientSecret, "--topic", TOPIC, "--timeout", "30"];

describe("inlet providers connect google", () => {
  let providerId = "";

  it("runs the installed-app flow: PKCE S256, state, gmail.readonly offline, a loopback redirect; a forged redirect is refused; the refresh token is stored sealed and the mailbox watched", async () => {
    const cli = startInlet(connectArgs, env);
    const [, printed] = await cli.stderrMatch(/\n {2}(http\S+)\n/);
    const url = new URL(printed!);
    const params = url.searchParams;
    expect(`${url.origin}${url.pathname}`).toBe(gmail.authorizationUrl);
    expect(Object.fromEntries(["client_id", "response_type", "scope", "access_type", "prompt", "code_challenge_method"].map((k) => [k, params.get(k)]))).toEqual({ client_id: CLIENT.clientId, response_type: "code", scope: "https://www.googleapis.com/auth/gmail.readonly", access_type: "offline", prompt: "consent", code_challenge_method: "S256" });
    expect(params.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const redirectUri = params.get("redirect_uri")!;
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    // Another page pointing the browser at the loopback port, with a code of its own: refused.
    const forged = await fetch(`${redirectUri}?state=${"x".repeat(43)}&code=4/0Aforged`);
    expect(forged.status).toBe(400);
    const unsigned = await fetch(`${redirectUri}?code=4/0Aforged`);
    expect(unsigned.status).toBe(400);

    const browser = await followAsBrowser(url.toString());
    expect(browser).toMatchObject({ status: 200, body: expect.stringContaining("Connected") });
    const result = await cli.result;
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { providerId: string; address: string; connectedAs: string; historyId: string };
    expect(out).toMatchObject({ kind: "google", tenant: "fabrikam", address: USER, connectedAs: "new", historyId: gmail.historyId(USER) });
    providerId = out.providerId;

    const [refreshToken] = gmail.oauth.refreshTokensOf(USER);
    expect(refreshToken).toBeDefined();
    expect(result.stdout + result.stderr).not.toContain(refreshToken!);
    expect(result.stdout + result.stderr).not.toContain(CLIENT.clientSecret);
    const db = openPostgres(database.url);
    const [row] = await db.query<{ text: string }>("SELECT credentials::text AS text FROM mailbox_providers WHERE id = $1", [providerId]);
    expect(row!.text).not.toContain(refreshToken!);
    expect(row!.text).not.toContain(CLIENT.clientSecret);
    expect((await new Mailboxes(db, {}, keyRing(KEY)).get(providerId))?.credentials).toEqual({ type: "google", ...CLIENT, refreshToken });
    await db.close();
    expect(gmail.watch(USER)).toMatchObject({ topicName: TOPIC });
    expect(await q.redis.hget(q.settings.keys.registry, registryField.googleMailbox(USER))).toBe(JSON.stringify({ tenantId: "fabrikam", providerId }));
  });

  it("a mailbox that needs re-authorisation says so in `providers list`; connecting it again gives it the new grant, keeps its cursor, restores it and enqueues its parked jobs again", async () => {
    const db = openPostgres(database.url);
    const mailboxes = new Mailboxes(db, {}, keyRing(KEY));
    const before = (await mailboxes.get(providerId))!;
    const { historyId } = gmail.addMessage(USER, "Subject: arrived meanwhile\r\n\r\nx\r\n");
    await mailboxes.markNeedsReauthorisation(providerId, "google_auth_revoked");
    const parked = { jobId: "parked-1", schemaVersion: 1 as const, provider: "google" as const, tenantId: "fabrikam", providerId, enqueuedAt: 1, attempt: 0, pointer: { emailAddress: USER, historyId, pubsubMessageId: "ps-1" } };
    await mailboxes.parkJob(providerId, parked);
    const listed = await inlet(["providers", "list"], env);
    expect(listed.stdout).toMatch(new RegExp(`${providerId}\\s+google\\s+fabrikam\\s+${USER}\\s+needs re-authorisation \\(google_auth_revoked since \\d{4}-`));
    expect(JSON.parse((await inlet(["providers", "list", "--json"], env)).stdout)).toMatchObject([{ id: providerId, authorisation: { status: "needs_reauthorisation", reason: "google_auth_revoked" }, credentials: { clientId: CLIENT.clientId, clientSecret: "[sealed:k1]", refreshToken: "[sealed:k1]" } }]);
    const cli = startInlet(connectArgs.filter((a) => a !== "--topic" && a !== TOPIC), env);
    const [, printed] = await cli.stderrMatch(/\n {2}(http\S+)\n/);
    await followAsBrowser(printed!);
    const result = await cli.result;
    expect(result.stderr).not.toMatch(/inlet:/);
    expect(JSON.parse(result.stdout)).toMatchObject({ providerId, connectedAs: "reconnected", requeued: 1 });
    const after = (await mailboxes.get(providerId))!;
    expect(after.authorisation).toBeUndefined();
    expect(await mailboxes.parkedJobs(providerId)).toEqual([]);
    const ready = (await readyRaws(q)).map((r) => JSON.parse(r) as { providerId: string; pointer: { historyId: string } });
    expect(ready).toEqual([expect.objectContaining({ providerId, pointer: expect.objectContaining({ historyId }) })]);
    expect((await inlet(["providers", "list"], env)).stdout).toMatch(new RegExp(`${USER}\\s+(healthy|degraded)\\s`));
    expect(after.cursors.gmailHistoryId).toBe(before.cursors.gmailHistoryId);
    expect(after.credentials).not.toEqual(before.credentials);
    await db.close();
  });

  it("a user who declines ends the command with a clear message, nothing stored", async () => {
    gmail.oauth.consentDecision = "deny";
    try {
      const cli = startInlet([...connectArgs.slice(0, 4), "someone-else", ...connectArgs.slice(5)], env);
      const [, printed] = await cli.stderrMatch(/\n {2}(http\S+)\n/);
      expect((await followAsBrowser(printed!)).status).toBe(400);
      const result = await cli.result;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("could not connect a Gmail mailbox: Google did not grant access (access_denied)");
      const db = openPostgres(database.url);
      expect(await db.query("SELECT id FROM mailbox_providers WHERE tenant_id = 'someone-else'")).toEqual([]);
      await db.close();
    } finally {
      gmail.oauth.consentDecision = "approve";
    }
  });
});

describe("the authorization code exchange", () => {
  const client = () => ({ ...CLIENT, authorizationUrl: gmail.authorizationUrl, tokenUrl: gmail.tokenUrl, timeoutMs: 5000 });
  const redirectUri = "http://127.0.0.1:1/";
  async function code(pkce = createPkce()): Promise<string> {
    const location = (await fetch(googleAuthorizationUrl(client(), { redirectUri, state: "s", pkce }), { redirect: "manual" })).headers.get("location");
    return new URL(location!).searchParams.get("code")!;
  }

  it("a code works once with its verifier; replayed, it is refused and what its first exchange gave is revoked", async () => {
    const pkce = createPkce();
    const issued = await code(pkce);
    const grant = await exchangeGoogleCode(client(), { code: issued, verifier: pkce.verifier, redirectUri });
    expect(grant.scopes).toEqual(["https://www.googleapis.com/auth/gmail.readonly"]);
    expect(await outcomeOf(exchangeGoogleCode(client(), { code: issued, verifier: pkce.verifier, redirectUri }))).toBe("dead_letter:google_auth_revoked");
    const refreshed = await fetch(gmail.tokenUrl, { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: grant.refreshToken, ...{ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret } }) });
    expect(refreshed.status).toBe(400);
    expect(await refreshed.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("a wrong or missing verifier, another redirect URI: refused (the code is bound to the PKCE challenge and the redirect)", async () => {
    const wrong = await fetch(gmail.tokenUrl, { method: "POST", body: new URLSearchParams({ grant_type: "authorization_code", code: await code(), code_verifier: createPkce().verifier, redirect_uri: redirectUri, ...{ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret } }) });
    expect(await wrong.json()).toEqual({ error: "invalid_grant", error_description: "Invalid code verifier." });
    const missing = await fetch(gmail.tokenUrl, { method: "POST", body: new URLSearchParams({ grant_type: "authorization_code", code: await code(), redirect_uri: redirectUri, ...{ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret } }) });
    expect(await missing.json()).toEqual({ error: "invalid_grant", error_description: "Missing code verifier." });
    const pkce = createPkce();
    expect(await outcomeOf(exchangeGoogleCode(client(), { code: await code(pkce), verifier: pkce.verifier, redirectUri: "http://127.0.0.1:2/" }))).toBe("dead_letter:google_auth_revoked");
  });
});

describe("Workspace domain-wide delegation", () => {
  it("one service account key connects several mailboxes (JWT-bearer, sub = each mailbox); a mailbox outside the delegation is refused", async () => {
    const key = gmail.oauth.createServiceAccount({ clientEmail: "inlet@fabrikam-prod.iam.gserviceaccount.com", domain: "corp.fabrikam.example", scopes: ["https://www.googleapis.com/auth/gmail.readonly"] });
    const file = join(mkdtempSync(join(tmpdir(), "inlet-sa-")), "key.json");
    writeFileSync(file, JSON.stringify(key));
    const addresses = ["sales@corp.fabrikam.example", "billing@corp.fabrikam.example"];
    const result = await inlet(["providers", "add", "google", "--tenant", "fabrikam", "--service-account-key", file, ...addresses.flatMap((a) => ["--address", a]), "--topic", TOPIC], env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    for (const a of addresses) expect(gmail.watch(a)).toMatchObject({ topicName: TOPIC });
    expect(result.stdout).not.toContain("PRIVATE KEY");
    const db = openPostgres(database.url);
    const rows = await db.query<{ text: string }>("SELECT credentials::text AS text FROM mailbox_providers WHERE address = ANY($1::text[])", [addresses]);
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.text).toContain(key.client_email);
      expect(r.text).not.toContain("PRIVATE KEY");
    }
    await db.close();

    const outside = await inlet(["providers", "add", "google", "--tenant", "fabrikam", "--service-account-key", file, "--address", "ceo@elsewhere.example", "--topic", TOPIC], env);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain("could not connect google mailbox ceo@elsewhere.example: google: the token endpoint refused the grant (unauthorized_client");

    const list = JSON.parse((await inlet(["providers", "list", "--json"], env)).stdout) as { address: string; id: string; credentials: { serviceAccount?: { privateKey: string } } }[];
    const sales = list.find((m) => m.address === addresses[0])!;
    expect(sales.credentials.serviceAccount?.privateKey).toBe("[sealed:k1]");
    gmail.oauth.setDelegatedScopes(key.client_email, []);
    const check = await inlet(["providers", "check", sales.id, "--json"], env);
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: false, steps: [{ step: "token", ok: false, code: "google_auth_revoked" }] });
  });
});
