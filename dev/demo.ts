// `inlet demo`: a scripted end-to-end run on the local stack. It connects one mailbox per provider
// to the sandbox through the real onboarding: Microsoft 365 by admin consent and Gmail by the
// installed-app flow (PKCE, state, loopback redirect; the sandbox plays the administrator's and
// the user's browser), the Graph subscription validated against the Worker, the Gmail watch, the
// IMAP listener. It sends real-format notifications (clientState, signed OIDC JWT, HMAC), waits
// for the consumer, and reports the tickets, replies, attachments and queue stats.
import { randomUUID } from "node:crypto";
import type { QueueStats } from "../src/queue/queue.ts";
import type { ConsumerApp } from "../consumer/app.ts";
import { providerEndpoints } from "../consumer/config.ts";
import { connectGoogleInteractively, connectMicrosoftInteractively } from "../consumer/providers/interactive.ts";
import { connectImap } from "../consumer/providers/imap.ts";
import { followAsBrowser } from "./fakes/browser.ts";
import { pushGmailNotification } from "./fakes/pubsub.ts";
import { SANDBOX, type Sandbox } from "./sandbox.ts";

export interface DemoReport {
  /** How each mailbox was connected (when this run connected it). */
  connections: { provider: string; how: string }[];
  tickets: { number: number; subject: string; status: string; requester: string; replies: number; notes: number; attachments: string[] }[];
  messages: { provider: string; identity: string; outcome: string }[];
  queue: QueueStats;
  notifications: { provider: string; status: number }[];
}

const TENANT = "demo";

function mail(o: { id: string; from: string; to: string; subject: string; body: string; inReplyTo?: string; headers?: string[]; attachment?: { name: string; type: string; content: string } }): string {
  const head = [`From: ${o.from}`, `To: ${o.to}`, `Subject: ${o.subject}`, `Date: ${new Date().toUTCString()}`, `Message-ID: <${o.id}>`, ...(o.inReplyTo ? [`In-Reply-To: <${o.inReplyTo}>`, `References: <${o.inReplyTo}>`] : []), ...(o.headers ?? []), "MIME-Version: 1.0"];
  if (!o.attachment) return [...head, "Content-Type: text/plain; charset=utf-8", "", o.body, ""].join("\r\n");
  return [...head, 'Content-Type: multipart/mixed; boundary="demo"', "", "--demo", "Content-Type: text/plain; charset=utf-8", "", o.body, "--demo", `Content-Type: ${o.attachment.type}; name="${o.attachment.name}"`, `Content-Disposition: attachment; filename="${o.attachment.name}"`, "Content-Transfer-Encoding: base64", "", Buffer.from(o.attachment.content).toString("base64"), "--demo--", ""].join("\r\n");
}

async function ensureMailboxes(app: ConsumerApp, sandbox: Sandbox, workerUrl: string): Promise<DemoReport["connections"]> {
  const existing = await app.mailboxes.list();
  const has = (address: string) => existing.some((m) => m.address === address.toLowerCase());
  const ctx = { ...app.providerContext, ingressUrl: workerUrl };
  const endpoints = providerEndpoints(sandbox.consumerEnv);
  const browser = async (url: string) => {
    const landed = await followAsBrowser(url);
    if (landed.status !== 200) throw new Error(`the consent flow ended at ${new URL(landed.url).origin} with HTTP ${landed.status}`);
  };
  const connections: DemoReport["connections"] = [];
  // Every run goes through both consent flows (connecting again keeps a mailbox's cursors): the
  // sandbox forgets its grants and subscriptions when the stack restarts.
  {
    const result = await connectMicrosoftInteractively(ctx, endpoints, { tenantId: TENANT, mailbox: SANDBOX.microsoft.mailbox, app: { clientId: SANDBOX.microsoft.clientId, clientSecret: SANDBOX.microsoft.clientSecret }, open: browser, timeoutMs: 30_000, waitForGrantMs: 0 });
    connections.push({ provider: "microsoft", how: `admin consent: tenant ${result.azureTenantId} granted the app (${result.connectedAs}), subscription ${result.details.subscriptionId ?? ""}` });
  }
  {
    const result = await connectGoogleInteractively(ctx, endpoints, { tenantId: TENANT, clientId: SANDBOX.google.clientId, clientSecret: SANDBOX.google.clientSecret, topic: SANDBOX.google.topic, loginHint: SANDBOX.google.address, open: browser, timeoutMs: 30_000 });
    connections.push({ provider: "google", how: `installed-app consent (PKCE, loopback redirect): ${result.address} granted gmail.readonly (${result.connectedAs}), watch set` });
  }
  if (sandbox.dovecot && !has(SANDBOX.imap.user)) {
    const id = await app.mailboxes.add({ tenantId: TENANT, kind: "imap", address: SANDBOX.imap.user, credentials: { type: "imap", host: sandbox.dovecot.host, port: sandbox.dovecot.port, secure: false, user: SANDBOX.imap.user, password: SANDBOX.imap.password } });
    await connectImap(ctx, (await app.mailboxes.get(id))!);
    await app.listener?.refresh();
    connections.push({ provider: "imap", how: "password login, folder cursor stored" });
  }
  return connections;
}

export async function runDemo(app: ConsumerApp, sandbox: Sandbox, workerUrl: string): Promise<DemoReport> {
  const connections = await ensureMailboxes(app, sandbox, workerUrl);
  const run = randomUUID().slice(0, 8);
  const [before] = await app.db.query<{ n: number }>("SELECT count(*)::int AS n FROM email_processed_messages WHERE tenant_id = $1", [TENANT]);
  const notifications: DemoReport["notifications"] = [];
  const ms = SANDBOX.microsoft.mailbox;
  const gm = SANDBOX.google.address;
  const first = `vpn-${run}@contoso.example`;

  // 1. Microsoft 365: a new request; Graph notifies twice for it (created + updated): one ticket.
  const vpn = sandbox.graph.addMessage(ms, mail({ id: first, from: "Megan Bowen <megan@contoso.example>", to: ms, subject: `VPN drops every hour (${run})`, body: "Since Monday the VPN disconnects every hour." }));
  for (const status of await sandbox.graph.notify(ms, vpn, { repeat: 2 })) notifications.push({ provider: "microsoft", status });
  // 2. Gmail: a reply to it, with a log file attached: a comment on the same ticket.
  const reply = sandbox.gmail.addMessage(gm, mail({ id: `reply-${run}@fabrikam.example`, from: "Alex Wilber <alex@fabrikam.example>", to: gm, subject: `Re: VPN drops every hour (${run})`, inReplyTo: first, body: "Same for us. Log attached.\r\n\r\nOn Mon, Megan Bowen wrote:\r\n> Since Monday the VPN disconnects every hour.", attachment: { name: "vpn-client.log", type: "text/plain", content: "12:00:01 tunnel down\n12:00:09 tunnel up\n" } }));
  notifications.push({ provider: "google", status: await pushGmailNotification(`${workerUrl}/webhooks/google`, { privateJwk: sandbox.jwks.privateJwk, audience: `${workerUrl}/webhooks/google`, serviceAccount: SANDBOX.pushServiceAccount }, { emailAddress: gm, historyId: reply.historyId }) });
  // 3. Microsoft 365: an out-of-office answer to the ticket: an internal note, no reopen.
  const oof = sandbox.graph.addMessage(ms, mail({ id: `oof-${run}@contoso.example`, from: "Megan Bowen <megan@contoso.example>", to: ms, subject: `Automatic reply: VPN drops every hour (${run})`, inReplyTo: first, headers: ["Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All"], body: "I am out of the office until Friday." }));
  for (const status of await sandbox.graph.notify(ms, oof)) notifications.push({ provider: "microsoft", status });
  // 4. Microsoft 365: a bounce: recorded, no ticket.
  const bounce = sandbox.graph.addMessage(ms, mail({ id: `dsn-${run}@contoso.example`, from: "MAILER-DAEMON@contoso.example", to: ms, subject: "Undelivered Mail Returned to Sender", headers: ["Auto-Submitted: auto-replied"], body: "Your message could not be delivered." }));
  for (const status of await sandbox.graph.notify(ms, bounce)) notifications.push({ provider: "microsoft", status });
  let expected = 4;
  // 5. IMAP (when Dovecot is installed): a new request, picked up by the IMAP listener's IDLE.
  if (sandbox.dovecot) {
    await sandbox.dovecot.deliver(SANDBOX.imap.user, mail({ id: `printer-${run}@tailspin.example`, from: "Lee Gu <lee@tailspin.example>", to: SANDBOX.imap.user, subject: `Printer jams on tray 2 (${run})`, body: "Paper jam every third page.", attachment: { name: "jam.txt", type: "text/plain", content: "tray 2, error 13.B2" } }));
    notifications.push({ provider: "imap", status: 0 });
    expected++;
  }

  const target = (before?.n ?? 0) + expected;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [now] = await app.db.query<{ n: number }>("SELECT count(*)::int AS n FROM email_processed_messages WHERE tenant_id = $1", [TENANT]);
    if ((now?.n ?? 0) >= target) break;
    await new Promise((r) => setTimeout(r, 200));
  }

  const tickets = await app.db.query<{ id: number; number: number; subject: string; status: string; requester: string | null }>(
    "SELECT t.id, t.number, t.subject, t.status, c.email AS requester FROM tickets t LEFT JOIN contacts c ON c.id = t.requester_id WHERE t.tenant_id = $1 AND t.subject LIKE $2 ORDER BY t.number",
    [TENANT, `%(${run})%`],
  );
  const report: DemoReport = { connections, tickets: [], messages: [], queue: await app.queue.stats(), notifications };
  for (const t of tickets) {
    const comments = await app.db.query<{ is_internal_note: boolean }>("SELECT is_internal_note FROM ticket_comments WHERE ticket_id = $1", [t.id]);
    const documents = await app.db.query<{ filename: string }>("SELECT filename FROM documents WHERE ticket_id = $1 ORDER BY id", [t.id]);
    report.tickets.push({ number: t.number, subject: t.subject, status: t.status, requester: t.requester ?? "", replies: comments.filter((c) => !c.is_internal_note).length, notes: comments.filter((c) => c.is_internal_note).length, attachments: documents.map((d) => d.filename) });
  }
  const processed = await app.db.query<{ provider: string; identity: string; status: string; reason: string | null }>(
    "SELECT provider, identity, status, reason FROM email_processed_messages WHERE tenant_id = $1 AND identity LIKE $2 ORDER BY id",
    [TENANT, `%${run}%`],
  );
  report.messages = processed.map((p) => ({ provider: p.provider, identity: p.identity, outcome: p.status === "skipped" ? `skipped: ${p.reason}` : p.status }));
  return report;
}
