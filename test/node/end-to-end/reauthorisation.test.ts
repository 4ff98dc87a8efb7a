// A grant taken back in the middle of the stream, through the whole chain (provider fakes → the
// Worker under wrangler dev → queue → consumer → PostgreSQL, credentials sealed): the user revokes
// Inlet's Gmail refresh token and the customer's admin withdraws the Microsoft consent while mail
// keeps arriving. Each mailbox is marked as needing re-authorisation by the first job that meets
// the refusal; every job of it ends as the skip source_unavailable:auth, none retries, none is
// dead-lettered. Connected again through the consent flows, the mailboxes are active once more:
// their parked jobs and the next sweep turn every mail that arrived meanwhile into a ticket,
// Graph mail that no notification announced included. No secret shows in a log line or in /stats.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerEndpoints } from "../../../consumer/config.ts";
import { connectGoogleInteractively, connectMicrosoftInteractively } from "../../../consumer/providers/interactive.ts";
import { CHAIN, startChain, type Chain } from "../../support/chain.ts";
import { followAsBrowser } from "../../support/cli.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { buildMail } from "../../support/mail.ts";
import { keyEntry } from "../../support/secrets.ts";
import { sleep } from "../../support/queues.ts";

const logs = captureLogs();
let chain: Chain;

beforeAll(async () => {
  const base = Number(process.env.INLET_TEST_PORT_BASE ?? 18000);
  chain = await startChain({ log: logs.log, workerPort: base + 802, env: { INLET_SECRETS_KEY: keyEntry("k1"), INLET_RECONCILE_INTERVAL_MS: "3000", INLET_CONCURRENCY: "4" } });
  chain.graph.identity.registerApp({ clientId: CHAIN.microsoft.clientId, redirectUris: ["http://127.0.0.1"] });
  chain.graph.identity.signInAdmin(CHAIN.microsoft.azureTenantId);
  chain.gmail.oauth.signIn(CHAIN.google.address);
}, 120_000);

afterAll(async () => chain?.close(), 60_000);

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const mail = (label: string) => buildMail({ id: `${label}@customer.example`, subject: `Request ${label}`, body: `Mail ${label}.` });

describe("a grant withdrawn mid-stream", () => {
  it("marks the mailbox as needing re-authorisation within one job, skips and parks its jobs with no retry and no dead letter; connected again, every mail that arrived meanwhile becomes a ticket", async () => {
    const { app } = chain;
    for (let i = 0; i < 3; i++) {
      await chain.sendGmail(mail(`gmail-before-${i}`));
      await chain.sendMicrosoft(mail(`graph-before-${i}`));
    }
    const drained = async () => {
      const stats = await app.queue.stats();
      return stats.ready === 0 && stats.processing === 0 && stats.delayed === 0;
    };
    // Every job of the mail before, repeats included, done: what runs from now on is new.
    await until("the mail before the revocation", async () => (await chain.processed()) === 6 && (await drained()));

    chain.gmail.oauth.revokeRefreshToken(CHAIN.google.refreshToken);
    chain.graph.identity.withdrawConsent(CHAIN.microsoft.azureTenantId, CHAIN.microsoft.clientId);
    const revokedAt = logs.lines().length;
    for (let i = 0; i < 3; i++) {
      await chain.sendGmail(mail(`gmail-during-${i}`));
      await chain.sendMicrosoft(mail(`graph-during-${i}`));
    }
    // Graph no longer notifies an app whose consent is gone: this one only a sweep can find.
    await chain.sendMicrosoft(mail("graph-unannounced"), { notify: false });

    const status = async () => Object.fromEntries((await app.mailboxes.list()).map((m) => [m.kind, m.authorisation?.reason ?? "active"]));
    await until("both mailboxes marked", async () => {
      const s = await status();
      return s.google === "google_auth_revoked" && s.microsoft === "microsoft_consent_revoked";
    });
    await until("the queue drained", drained);
    const after = logs.lines().slice(revokedAt);
    const ofMailbox = (kind: "google" | "microsoft") => (line: Record<string, unknown>) => line.providerId === chain.providerIds[kind];
    for (const kind of ["google", "microsoft"] as const) {
      expect(after.filter((l) => l.event === "inbound_email_mailbox_needs_reauthorisation").filter(ofMailbox(kind))).toHaveLength(1);
      const settled = after.filter((l) => typeof l.event === "string" && /^inbound_email_queue_(ack|skip|retry|dlq)$/.test(l.event)).filter(ofMailbox(kind));
      expect(settled.length).toBeGreaterThanOrEqual(1);
      expect(settled.every((l) => l.event === "inbound_email_queue_skip" && l.reason === "source_unavailable:auth")).toBe(true);
    }
    expect(await app.queue.stats()).toMatchObject({ dlq: 0, delayed: 0 });
    expect(await chain.processed()).toBe(6);

    // Connected again, through the same consent flows a user runs.
    const endpoints = providerEndpoints({ GMAIL_API_BASE_URL: chain.gmail.gmailBaseUrl, GOOGLE_OAUTH_TOKEN_URL: chain.gmail.tokenUrl, GOOGLE_OAUTH_AUTHORIZATION_URL: chain.gmail.authorizationUrl, MICROSOFT_LOGIN_BASE_URL: chain.graph.loginBaseUrl, MICROSOFT_GRAPH_BASE_URL: chain.graph.graphBaseUrl });
    const browser = async (url: string) => void (await followAsBrowser(url));
    const google = await connectGoogleInteractively(app.providerContext, endpoints, { tenantId: CHAIN.tenant, clientId: CHAIN.google.clientId, clientSecret: CHAIN.google.clientSecret, topic: undefined, open: browser, timeoutMs: 10_000 });
    const microsoft = await connectMicrosoftInteractively(app.providerContext, endpoints, { tenantId: CHAIN.tenant, mailbox: CHAIN.microsoft.mailbox, app: { clientId: CHAIN.microsoft.clientId, clientSecret: CHAIN.microsoft.clientSecret }, open: browser, timeoutMs: 10_000, waitForGrantMs: 0 });
    expect([google.providerId, google.connectedAs, microsoft.providerId, microsoft.connectedAs]).toEqual([chain.providerIds.google, "reconnected", chain.providerIds.microsoft, "reconnected"]);
    expect(google.requeued).toBeGreaterThanOrEqual(1);
    expect(microsoft.requeued).toBeGreaterThanOrEqual(1);
    expect(await status()).toMatchObject({ google: "active", microsoft: "active" });

    await until("every mail a ticket", async () => (await chain.processed()) === 13, 40_000);
    const [tickets] = await app.db.query<{ n: number; distinct: number }>("SELECT count(*)::int AS n, count(DISTINCT subject)::int AS distinct FROM tickets WHERE tenant_id = $1", [CHAIN.tenant]);
    expect(tickets).toEqual({ n: 13, distinct: 13 });
    expect(await app.queue.stats()).toMatchObject({ dlq: 0 });

    // Nothing secret in a log line or the Worker's /stats: access and refresh tokens, client
    // secrets, the Graph clientState, the stack's own tokens.
    const secrets = [...chain.gmail.oauth.refreshTokensOf(CHAIN.google.address), ...chain.graph.subscriptions().map((s) => s.clientState), CHAIN.adminToken, CHAIN.imapSecret, "ya29.", "eyJ0eXAiOiJKV1QifQ."];
    const stats = await (await fetch(`${chain.worker.url}/stats`, { headers: { authorization: `Bearer ${CHAIN.adminToken}` } })).text();
    expect(JSON.parse(stats)).toHaveProperty("queue");
    const logText = JSON.stringify(logs.lines());
    for (const secret of secrets) {
      expect(logText).not.toContain(secret);
      expect(stats).not.toContain(secret);
    }
    const [row] = await app.db.query<{ text: string }>("SELECT credentials::text AS text FROM mailbox_providers WHERE id = $1", [chain.providerIds.google]);
    for (const token of chain.gmail.oauth.refreshTokensOf(CHAIN.google.address)) expect(row!.text).not.toContain(token);
  }, 180_000);
});
