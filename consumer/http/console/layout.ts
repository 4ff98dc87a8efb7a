// The console's page shell and small view helpers. Server-rendered HTML from hono/html's `html`
// template (every interpolated value is escaped unless it is itself `html`), no script: every page
// reads without JavaScript, and every action is a plain form POST carrying the CSRF token.
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const STYLE = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5d6778; --line: #d9dee7; --bg: #f6f7f9; --card: #fff;
  --ok: #1f7a3f; --warn: #9a6100; --bad: #b42318; --accent: #2553b8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: #17233b; color: #fff; padding: .6rem 1rem; display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; }
header strong { font-size: 1.05rem; margin-right: .5rem; }
header a { color: #d7e2ff; text-decoration: none; padding: .15rem 0; }
header a[aria-current] { color: #fff; border-bottom: 2px solid #fff; }
header form { margin-left: auto; }
main { padding: 1rem; max-width: 1100px; margin: 0 auto; }
h1 { font-size: 1.35rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); gap: .6rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .75rem; }
.card b { display: block; font-size: 1.45rem; }
.card span { color: var(--muted); font-size: .85rem; }
.scroll { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
td.wrap { white-space: normal; min-width: 14rem; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); background: #fafbfc; }
tr:last-child td { border-bottom: 0; }
.status { display: inline-block; padding: .05rem .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600; background: #e9edf3; }
.status.healthy { background: #dcf3e4; color: var(--ok); }
.status.degraded { background: #fdf0d5; color: var(--warn); }
.status.failing, .status.expired, .status.needs_reauthorisation { background: #fde3e1; color: var(--bad); }
.muted { color: var(--muted); }
.notice { background: #e8f0ff; border: 1px solid #b9cdf5; padding: .6rem .8rem; border-radius: 6px; margin-bottom: 1rem; }
.notice.error { background: #fde3e1; border-color: #f2b8b3; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .8rem 0; }
.actions form { margin: 0; }
button { font: inherit; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; min-height: 2.5rem; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
header button { min-height: 0; padding: .2rem .6rem; background: transparent; border-color: #8aa0c8; }
input[type=password] { font: inherit; padding: .5rem; width: 100%; max-width: 24rem; border: 1px solid var(--line); border-radius: 6px; }
pre { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; overflow-x: auto; font-size: .85rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
a { color: var(--accent); }
@media (max-width: 540px) { main { padding: .6rem; } dl { grid-template-columns: 1fr; } dt { margin-top: .4rem; } }
`;

const NAV = [
  ["overview", "/console", "Overview"],
  ["dead-letters", "/console/dead-letters", "Dead letters"],
  ["mailboxes", "/console/mailboxes", "Mailboxes"],
  ["messages", "/console/messages", "Messages"],
  ["webhooks", "/console/webhooks", "Webhook deliveries"],
] as const;

export type Section = (typeof NAV)[number][0];

/** A whole page. `csrf` (a signed-in page) adds the navigation and the sign-out form. */
export function page(title: string, body: Html, options: { section?: Section; csrf?: string; notice?: { text: string; error?: boolean } } = {}): Html {
  const nav = options.csrf
    ? html`<header>
        <strong>Inlet</strong>
        ${NAV.map(([key, href, label]) => html`<a href="${href}" ${options.section === key ? html`aria-current="page"` : ""}>${label}</a>`)}
        <form method="post" action="/console/sign-out"><input type="hidden" name="csrf" value="${options.csrf}"><button type="submit">Sign out</button></form>
      </header>`
    : html`<header><strong>Inlet</strong></header>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Inlet console</title>
<style>${raw(STYLE)}</style>
</head>
<body>
${nav}
<main>
${options.notice ? html`<p class="notice ${options.notice.error ? "error" : ""}" role="status">${options.notice.text}</p>` : ""}
${body}
</main>
</body>
</html>`;
}

/** A POST form with the CSRF token and one button. */
export function action(path: string, csrf: string, label: string, options: { style?: "secondary" | "danger"; fields?: Record<string, string> } = {}): Html {
  return html`<form method="post" action="${path}">
    <input type="hidden" name="csrf" value="${csrf}">
    ${Object.entries(options.fields ?? {}).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
    <button type="submit" class="${options.style ?? ""}">${label}</button>
  </form>`;
}

/** A coloured status; `tone` picks the colour when the label is not a mailbox status. */
export const statusBadge = (status: string, tone = status) => html`<span class="status ${tone}">${status.replace(/_/g, " ")}</span>`;

/** "3 min ago", "in 2.5 h" from an ISO time (or "-"). */
export function relative(iso: string | undefined, now = Date.now()): string {
  const at = Date.parse(iso ?? "");
  if (!Number.isFinite(at)) return "-";
  const ms = at - now;
  const abs = Math.abs(ms);
  const text = abs < 60_000 ? `${Math.round(abs / 1000)} s` : abs < 7200_000 ? `${Math.round(abs / 60_000)} min` : abs < 172_800_000 ? `${(abs / 3600_000).toFixed(1)} h` : `${(abs / 86_400_000).toFixed(1)} d`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export function age(ms: number | undefined): string {
  if (ms === undefined) return "-";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3600_000).toFixed(1)} h`;
}

export const time = (iso: string | undefined) => (iso ? html`<time datetime="${iso}" title="${iso}">${relative(iso)}</time>` : html`<span class="muted">-</span>`);
