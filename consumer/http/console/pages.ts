// The console's pages, one function each, from the data its route read. Nothing here reads a
// store or renders a credential: mailboxes are shown by id, kind, tenant and address, dead letters
// by their job (pointer ids), deliveries by endpoint URL.
import { html } from "hono/html";
import type { DeadLetter, QueueStats } from "../../../src/queue/queue.ts";
import type { MailboxWithHealth } from "../../operations/mailboxes.ts";
import type { DeliveryRecord } from "../../operations/deliveries.ts";
import { summarise } from "../../operations/dead-letters.ts";
import type { RateOutcome } from "../../metrics/rates.ts";
import type { RecentMessage } from "../../store/recent-messages.ts";
import { action, age, page, statusBadge, time, type Html } from "./layout.ts";

type Notice = { text: string; error?: boolean } | undefined;
const notice = (n: Notice) => (n ? { notice: n } : {});

export function signInPage(options: { refused?: boolean; expired?: boolean; notConfigured?: boolean } = {}): Html {
  if (options.notConfigured) {
    return page("Console not configured", html`<h1>Console not configured</h1><p>Set <code>INLET_ADMIN_TOKEN</code> on the consumer to sign in to the operations console.</p>`);
  }
  const message = options.refused ? { text: "That is not the admin token.", error: true } : options.expired ? { text: "Your session has expired: sign in again." } : undefined;
  return page(
    "Sign in",
    html`<h1>Sign in</h1>
      <form method="post" action="/console/sign-in">
        <p><label for="token">Admin token (<code>INLET_ADMIN_TOKEN</code>)</label></p>
        <p><input type="password" id="token" name="token" autocomplete="current-password" required autofocus></p>
        <p><button type="submit">Sign in</button></p>
      </form>`,
    notice(message),
  );
}

export interface OverviewData {
  queue: QueueStats | undefined;
  rates: Record<RateOutcome, number>;
  deadLetters: { total: number; records: DeadLetter[] } | undefined;
  mailboxes: MailboxWithHealth[] | undefined;
}

const card = (value: string | number, label: string) => html`<div class="card"><b>${value}</b><span>${label}</span></div>`;
const unavailable = (what: string) => html`<p class="notice error">${what} could not be read just now; the consumer's log says why.</p>`;

export function overviewPage(csrf: string, data: OverviewData): Html {
  const q = data.queue;
  const troubled = (data.mailboxes ?? []).filter((m) => m.health.derived.status !== "healthy");
  return page(
    "Overview",
    html`<h1>Overview</h1>
      <h2>Queue</h2>
      ${q
        ? html`<div class="cards">
            ${card(q.ready, "ready")} ${card(age(q.oldestReadyAgeMs), "oldest ready")} ${card(q.processing, "processing")} ${card(q.delayed, "retries waiting")}
            ${card(q.dlq, "dead letters")}
          </div>`
        : unavailable("The queue")}
      <h2>Jobs per minute <span class="muted">(this replica, last 5 min)</span></h2>
      <div class="cards">${card(data.rates.processed, "processed")} ${card(data.rates.skipped, "skipped")} ${card(data.rates.retry, "retried")} ${card(data.rates.dead_letter, "dead-lettered")}</div>
      <h2>Mailboxes needing attention</h2>
      ${data.mailboxes === undefined
        ? unavailable("The mailboxes")
        : troubled.length === 0
          ? html`<p>All ${data.mailboxes.length} mailboxes are healthy.</p>`
          : mailboxTable(troubled)}
      <h2>Newest dead letters</h2>
      ${data.deadLetters === undefined ? unavailable("The dead letters") : data.deadLetters.total === 0 ? html`<p>No dead letters.</p>` : deadLetterTable(data.deadLetters.records.slice(0, 5))}
      ${data.deadLetters && data.deadLetters.total > 5 ? html`<p><a href="/console/dead-letters">All ${data.deadLetters.total} dead letters</a></p>` : ""}`,
    { section: "overview", csrf },
  );
}

function deadLetterTable(records: readonly DeadLetter[]): Html {
  return html`<div class="scroll"><table>
    <thead><tr><th>id</th><th>provider</th><th>tenant</th><th>mailbox</th><th>attempts</th><th>reason</th><th>dead</th></tr></thead>
    <tbody>${records.map(summarise).map(
      (r) => html`<tr><td><a href="/console/dead-letters/${encodeURIComponent(r.id)}">${r.id}</a></td><td>${r.provider}</td><td>${r.tenant}</td><td>${r.providerId}</td><td>${r.attempts}</td><td>${r.reason}</td><td>${time(r.deadAt)}</td></tr>`,
    )}</tbody>
  </table></div>`;
}

export function deadLettersPage(csrf: string, data: { total: number; records: DeadLetter[] }, n?: Notice): Html {
  return page(
    "Dead letters",
    html`<h1>Dead letters <span class="muted">(${data.total})</span></h1>
      ${data.total === 0
        ? html`<p>No dead letters.</p>`
        : html`<div class="actions">
              ${action("/console/dead-letters/requeue", csrf, `Requeue all ${data.total}`, { fields: { id: "*" } })}
              <form method="get" action="/console/dead-letters/purge"><input type="hidden" name="id" value="*"><button type="submit" class="danger">Purge all…</button></form>
            </div>
            ${deadLetterTable(data.records)}
            ${data.total > data.records.length ? html`<p class="muted">Showing the newest ${data.records.length}.</p>` : ""}`}`,
    { section: "dead-letters", csrf, ...notice(n) },
  );
}

export function deadLetterPage(csrf: string, record: DeadLetter): Html {
  const s = summarise(record);
  return page(
    `Dead letter ${record.id}`,
    html`<h1>Dead letter <code>${record.id}</code></h1>
      <dl>
        <dt>reason</dt><dd>${record.reason}</dd>
        <dt>last error</dt><dd>${record.lastError}</dd>
        <dt>attempts</dt><dd>${record.attempts}</dd>
        <dt>provider</dt><dd>${s.provider}</dd>
        <dt>tenant</dt><dd>${s.tenant}</dd>
        <dt>mailbox</dt><dd>${s.providerId !== "-" ? html`<a href="/console/mailboxes/${encodeURIComponent(s.providerId)}">${s.providerId}</a>` : "-"}</dd>
        <dt>enqueued</dt><dd>${record.enqueuedAt === null ? "-" : time(new Date(record.enqueuedAt).toISOString())}</dd>
        <dt>dead</dt><dd>${time(s.deadAt)}</dd>
      </dl>
      <div class="actions">
        ${action(`/console/dead-letters/requeue`, csrf, "Requeue", { fields: { id: record.id } })}
        <form method="get" action="/console/dead-letters/purge"><input type="hidden" name="id" value="${record.id}"><button type="submit" class="danger">Purge…</button></form>
      </div>
      <h2>Job</h2>
      <pre>${JSON.stringify(record.job ?? record.payload ?? null, null, 2)}</pre>`,
    { section: "dead-letters", csrf },
  );
}

export function confirmPurgePage(csrf: string, which: string, count: number): Html {
  const all = which === "*";
  return page(
    "Purge dead letters",
    html`<h1>Purge ${all ? `all ${count} dead letters` : html`dead letter <code>${which}</code>`}?</h1>
      <p>Purged dead letters are deleted for good: their jobs cannot be requeued afterwards.</p>
      <div class="actions">
        ${action("/console/dead-letters/purge", csrf, all ? `Purge all ${count}` : "Purge it", { style: "danger", fields: { id: which, confirm: "yes" } })}
        <a href="${all ? "/console/dead-letters" : `/console/dead-letters/${encodeURIComponent(which)}`}">Cancel</a>
      </div>`,
    { section: "dead-letters", csrf },
  );
}

function mailboxTable(list: readonly MailboxWithHealth[]): Html {
  return html`<div class="scroll"><table>
    <thead><tr><th>mailbox</th><th>kind</th><th>tenant</th><th>status</th><th>last notification</th><th>last mail</th><th>failures</th><th>expires</th></tr></thead>
    <tbody>${list.map(
      ({ mailbox: m, health: h }) => html`<tr>
        <td><a href="/console/mailboxes/${encodeURIComponent(m.providerId)}">${m.address}</a><br><span class="muted">${m.providerId}</span></td>
        <td>${m.kind}</td><td>${m.tenantId}</td>
        <td>${statusBadge(h.derived.status)}${h.derived.reason ? html`<br><span class="muted">${h.derived.reason}</span>` : ""}</td>
        <td>${time(h.lastNotificationAt)}</td><td>${time(h.lastProcessedAt)}</td><td>${h.consecutiveFailures}</td><td>${time(h.expiresAt)}</td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

export function mailboxesPage(csrf: string, list: readonly MailboxWithHealth[]): Html {
  return page("Mailboxes", html`<h1>Mailboxes <span class="muted">(${list.length})</span></h1>${list.length === 0 ? html`<p>No mailboxes connected.</p>` : mailboxTable(list)}`, { section: "mailboxes", csrf });
}

export function mailboxPage(csrf: string, { mailbox: m, health: h }: MailboxWithHealth, n?: Notice): Html {
  const sweep = m.cursors.lastSweep;
  const what = m.kind === "google" ? "watch" : m.kind === "microsoft" ? "subscription" : undefined;
  const id = encodeURIComponent(m.providerId);
  return page(
    m.address,
    html`<h1>${m.address}</h1>
      <dl>
        <dt>status</dt><dd>${statusBadge(h.derived.status)} ${h.derived.reason}</dd>
        <dt>id</dt><dd>${m.providerId}</dd>
        <dt>kind</dt><dd>${m.kind}</dd>
        <dt>tenant</dt><dd>${m.tenantId}</dd>
        ${what ? html`<dt>${what} expires</dt><dd>${time(h.expiresAt)}${h.expiresAt ? html` <span class="muted">(${h.expiresAt})</span>` : ""}</dd>` : ""}
        <dt>last notification</dt><dd>${time(h.lastNotificationAt)}</dd>
        <dt>last mail processed</dt><dd>${time(h.lastProcessedAt)}</dd>
        <dt>failures in a row</dt><dd>${h.consecutiveFailures}</dd>
        <dt>last error</dt><dd>${h.lastError ? html`<code>${h.lastError.code}</code> ${time(h.lastError.at)}<br>${h.lastError.message}` : "-"}</dd>
        <dt>last sweep</dt><dd>${sweep ? html`${time(sweep.at)}: listed ${sweep.listed}, enqueued ${sweep.enqueued}, found ${sweep.found} no notification announced${sweep.error ? html`, failed: <code>${sweep.error}</code>` : ""}` : "-"}</dd>
        ${m.authorisation ? html`<dt>authorisation</dt><dd>needs re-authorisation (<code>${m.authorisation.reason}</code>) since ${time(m.authorisation.since)}: connect the mailbox again</dd>` : ""}
      </dl>
      <div class="actions">
        ${what ? action(`/console/mailboxes/${id}/renew`, csrf, `Renew ${what} now`) : ""}
        ${m.kind !== "imap" ? action(`/console/mailboxes/${id}/resync`, csrf, "Resync now", { style: "secondary" }) : ""}
      </div>`,
    { section: "mailboxes", csrf, ...notice(n) },
  );
}

export function messagesPage(csrf: string, list: readonly RecentMessage[]): Html {
  return page(
    "Recent messages",
    html`<h1>Recent messages</h1>
      ${list.length === 0
        ? html`<p>No messages processed yet.</p>`
        : html`<div class="scroll"><table>
            <thead><tr><th>when</th><th>outcome</th><th>ticket</th><th>class</th><th>suspicious</th><th>tenant</th><th>mailbox</th><th>provider</th></tr></thead>
            <tbody>${list.map(
              (r) => html`<tr>
                <td>${time(r.at)}</td><td>${r.outcome}${r.reason ? html` <span class="muted">(${r.reason})</span>` : ""}</td>
                <td>${r.ticketNumber ? `#${r.ticketNumber}` : "-"}</td><td>${r.classification}</td>
                <td>${r.suspicious ? html`<span class="status failing">suspicious</span> <span class="muted">${r.suspiciousReason ?? ""}</span>` : "no"}</td>
                <td>${r.tenantId}</td><td>${r.providerId ? html`<a href="/console/mailboxes/${encodeURIComponent(r.providerId)}">${r.providerId}</a>` : "-"}</td><td>${r.provider}</td>
              </tr>`,
            )}</tbody>
          </table></div>`}`,
    { section: "messages", csrf },
  );
}

export function deliveriesPage(csrf: string, data: { records: DeliveryRecord[]; failedOnly: boolean } | undefined, n?: Notice): Html {
  if (!data) return page("Webhook deliveries", html`<h1>Webhook deliveries</h1><p>Webhook delivery is not configured on this consumer.</p>`, { section: "webhooks", csrf });
  const failed = data.records.filter((r) => r.status === "failed").length;
  return page(
    "Webhook deliveries",
    html`<h1>Webhook deliveries</h1>
      <p>${data.failedOnly ? html`Failed only · <a href="/console/webhooks?all=1">show all</a>` : html`All · <a href="/console/webhooks">failed only</a>`}</p>
      ${data.failedOnly && failed > 0 ? html`<div class="actions">${action("/console/webhooks/redeliver", csrf, "Redeliver every failed delivery", { fields: { id: "*" } })}</div>` : ""}
      ${data.records.length === 0
        ? html`<p>${data.failedOnly ? "No failed deliveries." : "No deliveries."}</p>`
        : html`<div class="scroll"><table>
            <thead><tr><th>event</th><th>endpoint</th><th>status</th><th>attempts</th><th>last error</th><th>last attempt</th><th></th></tr></thead>
            <tbody>${data.records.map(
              (r) => html`<tr>
                <td>${r.eventType}<br><span class="muted">${r.eventId}</span></td><td>${r.url}</td><td>${statusBadge(r.status, r.status === "failed" ? "failing" : r.status === "delivered" ? "healthy" : "degraded")}</td>
                <td>${r.attempts}</td><td class="wrap">${r.lastError ?? "-"}</td><td>${time(r.lastAttemptAt)}</td>
                <td>${r.status === "failed" ? action("/console/webhooks/redeliver", csrf, "Redeliver", { fields: { id: r.id } }) : ""}</td>
              </tr>`,
            )}</tbody>
          </table></div>`}`,
    { section: "webhooks", csrf, ...notice(n) },
  );
}

export function notFoundPage(what: string, csrf: string | undefined): Html {
  return page("Not found", html`<h1>Not found</h1><p>${what}</p><p><a href="/console">Back to the overview</a></p>`, csrf ? { csrf } : {});
}

export function forbiddenPage(): Html {
  return page("Refused", html`<h1>Refused</h1><p>This form did not carry this session's CSRF token, so nothing was done. Go back, reload the page and try again.</p><p><a href="/console">Back to the overview</a></p>`);
}
