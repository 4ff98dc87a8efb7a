// IMAP by SASL XOAUTH2 against real Dovecot, configured with its oauth2 passdb and pointed at the
// local providers' token introspection (Gmail's IMAP: a user's token with https://mail.google.com/;
// Exchange Online's: an app-only token for outlook.office365.com). Tokens live 3 seconds here, so
// a long session outlives several: the resolver's pool and the listener's watcher log in again
// with a fresh token before the old one expires, also when the server ends a session itself, and
// no login is ever made with an expired token. A grant taken back marks the mailbox.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerEndpoints } from "../../../consumer/config.ts";
import type { ImapNotification } from "../../../consumer/imap-listener/ingress-client.ts";
import { MailboxWatcher } from "../../../consumer/imap-listener/mailbox-watcher.ts";
import type { MailboxOf } from "../../../consumer/domain/mailbox.ts";
import type { MessageJob } from "../../../consumer/domain/job.ts";
import { createProviderApis, type ProviderApis } from "../../../consumer/provider-api/apis.ts";
import { createImapResolver } from "../../../consumer/resolvers/imap.ts";
import { startFakeGmail, type FakeGmail } from "../../../dev/fakes/gmail.ts";
import { startFakeGraph, type FakeGraph } from "../../../dev/fakes/graph.ts";
import { createPkce } from "../../../consumer/oauth/pkce.ts";
import { InletError } from "../../../consumer/domain/errors.ts";
import { append, startDovecot, type Dovecot } from "../../support/dovecot.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { MemoryDirectory } from "../../support/mailboxes.ts";
import { buildMail } from "../../support/mail.ts";
import { sleep } from "../../support/queues.ts";
import { RecordingProcessor } from "../../support/recording-processor.ts";

const GMAIL_USER = { user: "imap-oauth@fabrikam.example", password: randomBytes(12).toString("hex") };
const OUTLOOK_USER = { user: "helpdesk@contoso.example", password: randomBytes(12).toString("hex") };
const CLIENT = { clientId: "imap-client.apps.googleusercontent.com", clientSecret: "imap-client-secret" };
const APP = { azureTenantId: "contoso-tenant", clientId: "imap-app", clientSecret: "imap-app-secret" };
const LIFETIME_S = 3;

let gmail: FakeGmail;
let graph: FakeGraph;
let gmailImap: Dovecot;
let outlookImap: Dovecot;
let apis: ProviderApis;
let refreshToken: string;

/** A refresh token for full mail access, as the user's consent gives one. */
async function imapRefreshToken(): Promise<string> {
  const pkce = createPkce();
  const redirectUri = "http://127.0.0.1:1/";
  const authorize = new URL(gmail.authorizationUrl);
  for (const [k, v] of Object.entries({ client_id: CLIENT.clientId, redirect_uri: redirectUri, response_type: "code", scope: "https://mail.google.com/", access_type: "offline", state: "s", code_challenge: pkce.challenge, code_challenge_method: "S256" })) authorize.searchParams.set(k, v);
  const code = new URL((await fetch(authorize, { redirect: "manual" })).headers.get("location")!).searchParams.get("code")!;
  const answer = await fetch(gmail.tokenUrl, { method: "POST", body: new URLSearchParams({ grant_type: "authorization_code", code, code_verifier: pkce.verifier, redirect_uri: redirectUri, client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret }) });
  const token = ((await answer.json()) as { refresh_token?: string }).refresh_token;
  if (!token) throw new Error("the fake gave no refresh token");
  return token;
}

beforeAll(async () => {
  [gmail, graph] = await Promise.all([startFakeGmail(), startFakeGraph()]);
  gmail.addClient(CLIENT);
  gmail.oauth.signIn(GMAIL_USER.user);
  gmail.tokenExpiresIn = LIFETIME_S;
  graph.addApp(APP);
  graph.identity.grantImapMailbox(APP.azureTenantId, APP.clientId, OUTLOOK_USER.user);
  graph.identity.tokenExpiresIn = LIFETIME_S;
  [gmailImap, outlookImap] = await Promise.all([startDovecot([GMAIL_USER], { oauth2: { introspectionUrl: gmail.imapIntrospectionUrl } }), startDovecot([OUTLOOK_USER], { oauth2: { introspectionUrl: graph.imapIntrospectionUrl } })]);
  refreshToken = await imapRefreshToken();
  apis = createProviderApis(providerEndpoints({ GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl, MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl, INLET_FETCH_TIMEOUT_MS: "5000" }));
});

afterAll(async () => {
  await Promise.all([gmailImap?.stop(), outlookImap?.stop()]);
  await Promise.all([gmail?.close(), graph?.close()]);
});

const gmailMailbox = (): MailboxOf<"imap"> => ({
  providerId: "imap-gmail",
  tenantId: "t1",
  kind: "imap",
  address: GMAIL_USER.user,
  credentials: { type: "imap", host: gmailImap.host, port: gmailImap.port, secure: false, user: GMAIL_USER.user, oauth: { provider: "google", ...CLIENT, refreshToken } },
  cursors: {},
  bulkMailOpensTickets: false,
});
const outlookMailbox = (): MailboxOf<"imap"> => ({
  providerId: "imap-outlook",
  tenantId: "t1",
  kind: "imap",
  address: OUTLOOK_USER.user,
  credentials: { type: "imap", host: outlookImap.host, port: outlookImap.port, secure: false, user: OUTLOOK_USER.user, oauth: { provider: "microsoft", ...APP } },
  cursors: {},
  bulkMailOpensTickets: false,
});
const jobFor = (m: MailboxOf<"imap">, uidValidity: string, uid: number): MessageJob<"imap"> => ({ jobId: `j${uid}`, schemaVersion: 1, provider: "imap", tenantId: "t1", providerId: m.providerId, enqueuedAt: 0, attempt: 0, pointer: { mailbox: "INBOX", uidValidity, uid } });

describe("IMAP XOAUTH2 against Dovecot's oauth2 passdb", () => {
  it("the resolver logs in with a Gmail token and, after the token expired and the server ended the session, with a fresh one: never with an expired token", async () => {
    const mailbox = gmailMailbox();
    const resolver = createImapResolver({ timeoutMs: 5000, maxMessageBytes: 1 << 20, tokens: apis.imapTokens });
    const processor = new RecordingProcessor();
    const run = (job: MessageJob<"imap">) => resolver.handle({ job, mailbox, directory: new MemoryDirectory([mailbox]), processor, signal: new AbortController().signal });
    const before = gmail.oauth.introspections().length;
    const first = await append(gmailImap, GMAIL_USER, buildMail({ id: "x1@example.org" }));
    expect(await run(jobFor(mailbox, first.uidValidity, first.uid))).toMatchObject({ outcome: "processed" });
    await sleep(LIFETIME_S * 1000 + 500); // the first token has expired
    await gmailImap.kick(GMAIL_USER.user); // and the server ends the session, as Exchange Online does
    const second = await append(gmailImap, GMAIL_USER, buildMail({ id: "x2@example.org" }));
    expect(await run(jobFor(mailbox, second.uidValidity, second.uid))).toMatchObject({ outcome: "processed" });
    await sleep(1700); // past the renewal point of the second token: the pool logs in afresh
    const third = await append(gmailImap, GMAIL_USER, buildMail({ id: "x3@example.org" }));
    expect(await run(jobFor(mailbox, third.uidValidity, third.uid))).toMatchObject({ outcome: "processed" });
    expect(processor.received.map((m) => m.providerMessageId)).toEqual([first, second, third].map((a) => `${a.uidValidity}:${a.uid}`));
    const logins = gmail.oauth.introspections().slice(before);
    expect(logins.length).toBeGreaterThanOrEqual(3);
    expect(logins.every((l) => l.active && !l.expired)).toBe(true);
    expect(new Set(logins.map((l) => l.token)).size).toBe(logins.length);
    await resolver.close();
  });

  it("the watcher's session outlives its tokens: it logs in again before each expires (and after the server ends it), and every mail that arrives meanwhile is announced", async () => {
    const mailbox = gmailMailbox();
    const directory = new MemoryDirectory([{ ...mailbox, providerId: "watch-gmail" }]);
    const logs = captureLogs();
    const announced: number[] = [];
    const before = gmail.oauth.introspections().length;
    const watcher = new MailboxWatcher({ mailbox: { ...mailbox, providerId: "watch-gmail" }, directory, log: logs.log, tokens: apis.imapTokens, notify: async (n: ImapNotification) => void announced.push(...n.uids) });
    watcher.start();
    const uids: number[] = [];
    try {
      await sleep(800);
      for (let i = 0; i < 5; i++) {
        uids.push((await append(gmailImap, GMAIL_USER, buildMail({ id: `watch-${i}@example.org` }))).uid);
        if (i === 2) await gmailImap.kick(GMAIL_USER.user);
        await sleep(2000);
      }
      const deadline = Date.now() + 5000;
      while (!uids.every((u) => announced.includes(u)) && Date.now() < deadline) await sleep(100);
    } finally {
      await watcher.stop();
    }
    expect(announced.filter((u) => uids.includes(u)).sort((a, b) => a - b)).toEqual(uids);
    expect(logs.events("imap_listener_token_renewal").length).toBeGreaterThanOrEqual(3);
    const logins = gmail.oauth.introspections().slice(before);
    expect(logins.every((l) => l.active && !l.expired)).toBe(true);
    expect(new Set(logins.map((l) => l.token)).size).toBeGreaterThanOrEqual(4);
    expect(watcher.refused).toBe(false);
  }, 40_000);

  it("Exchange Online's IMAP takes the app-only token of the mailbox's Entra app; consent withdrawn is a lost grant, not a retry", async () => {
    const mailbox = outlookMailbox();
    const resolver = createImapResolver({ timeoutMs: 5000, maxMessageBytes: 1 << 20, tokens: apis.imapTokens });
    const processor = new RecordingProcessor();
    const run = (job: MessageJob<"imap">) => resolver.handle({ job, mailbox, directory: new MemoryDirectory([mailbox]), processor, signal: new AbortController().signal });
    const appended = await append(outlookImap, OUTLOOK_USER, buildMail({ id: "outlook@example.org" }));
    expect(await run(jobFor(mailbox, appended.uidValidity, appended.uid))).toMatchObject({ outcome: "processed" });
    expect(graph.identity.introspections().at(-1)).toEqual({ active: true, expired: false });
    await resolver.close();

    graph.identity.withdrawConsent(APP.azureTenantId, APP.clientId);
    apis.tokens.invalidate((await import("../../../consumer/auth/microsoft.ts")).microsoftTokenKey(APP, "https://outlook.office365.com/.default"));
    let lost: unknown;
    try {
      await run(jobFor(mailbox, appended.uidValidity, appended.uid));
    } catch (error) {
      lost = error;
    }
    expect(lost).toBeInstanceOf(InletError);
    expect(lost).toMatchObject({ code: "microsoft_consent_revoked", authorisationLost: true });
    await resolver.close();
  });

  it("a grant the user takes back ends the watch and marks the mailbox as needing re-authorisation", async () => {
    const mailbox = { ...gmailMailbox(), providerId: "watch-revoked" };
    const directory = new MemoryDirectory([mailbox]);
    const logs = captureLogs();
    const watcher = new MailboxWatcher({ mailbox, directory, log: logs.log, tokens: apis.imapTokens, notify: async () => undefined });
    watcher.start();
    await sleep(500);
    gmail.oauth.revokeGrant(GMAIL_USER.user);
    const deadline = Date.now() + 10_000;
    while (!watcher.refused && Date.now() < deadline) await sleep(100);
    await watcher.stop();
    expect(watcher.refused).toBe(true);
    expect((await directory.get(mailbox.providerId))?.authorisation).toMatchObject({ status: "needs_reauthorisation", reason: "google_auth_revoked" });
  }, 20_000);
});
