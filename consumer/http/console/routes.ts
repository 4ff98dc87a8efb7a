// /console: the operations console. Each route reads verify → parse → act → answer:
//   verify   a signed, unexpired session cookie (else back to sign-in); for a POST also the
//            form's CSRF token (else 403) and, when the browser sends one, a same-origin Origin
//   parse    ids and fields with zod
//   act      through consumer/operations/, the same functions the `inlet` commands call
//   answer   a page, or after an action a redirect (303) to the page that shows its result
// Unknown ids answer 404 with a page that says so.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { PointerQueue } from "../../../src/queue/queue.ts";
import { SerialDelay } from "./refusal-delay.ts";
import type { JobRates } from "../../metrics/rates.ts";
import { findDeadLetter, listDeadLetters, purgeDeadLetters, requeueDeadLetters } from "../../operations/dead-letters.ts";
import type { DeliveryOperations } from "../../operations/deliveries.ts";
import { listMailboxHealth, mailboxWithHealth, renewMailboxNow, resyncMailboxNow } from "../../operations/mailboxes.ts";
import type { ProviderContext } from "../../providers/context.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Queryable } from "../../store/db.ts";
import type { HealthStore } from "../../store/health.ts";
import { recentMessages } from "../../store/recent-messages.ts";
import type { Html } from "./layout.ts";
import { confirmPurgePage, deadLetterPage, deadLettersPage, deliveriesPage, forbiddenPage, mailboxesPage, mailboxPage, messagesPage, notFoundPage, overviewPage, signInPage } from "./pages.ts";
import { ConsoleSessions, DEFAULT_REFUSAL_DELAY_MS, SESSION_COOKIE, tokenMatches, type Session } from "./session.ts";

export interface ConsoleParts {
  /** INLET_ADMIN_TOKEN; without it the console only says it is not configured. */
  adminToken: string | undefined;
  sessionMs?: number;
  /** How long a wrong token waits for its answer. */
  refusalDelayMs?: number;
  queue: PointerQueue;
  providers: ProviderContext;
  health: HealthStore;
  db: Queryable;
  rates: JobRates;
  deliveries?: DeliveryOperations;
  log: Logger;
}

type Env = { Variables: { session: Session } };

/** A console form is a token and a few ids. */
const MAX_FORM_BYTES = 16 * 1024;
const DEAD_LETTER_PAGE = 100;
const MESSAGES_PAGE = 100;
const DELIVERIES_PAGE = 100;
const id = z.string().min(1).max(512);
const code = z.string().regex(/^[A-Za-z0-9_:.-]{1,120}$/);
const flashSchema = z.object({ done: z.enum(["requeued", "purged", "renewed", "resynced", "redelivered"]).optional(), n: z.coerce.number().int().min(0).optional(), code: code.optional(), failed: z.literal("1").optional() });

/** The one-line result of an action, from the redirect's query (fixed wording, numbers and codes only). */
function flash(c: Context): { text: string; error?: boolean } | undefined {
  const parsed = flashSchema.safeParse(c.req.query());
  if (!parsed.success || !parsed.data.done) return undefined;
  const { done, n, code: detail, failed } = parsed.data;
  if (failed) return { text: `The ${done === "renewed" ? "renewal" : "resync"} failed${detail ? `: ${detail}` : ""}.`, error: true };
  switch (done) {
    case "requeued":
      return { text: `Requeued ${n ?? 0} dead letter(s).` };
    case "purged":
      return { text: `Purged ${n ?? 0} dead letter(s).` };
    case "renewed":
      return { text: `Renew now: ${detail ?? "done"}.` };
    case "resynced":
      return { text: `Swept now: ${n ?? 0} message(s) enqueued that were not yet processed.` };
    case "redelivered":
      return { text: `Redelivery queued for ${n ?? 0} deliver${n === 1 ? "y" : "ies"}.` };
  }
}

const sameOrigin = (c: Context) => {
  const origin = c.req.header("origin");
  if (!origin || origin === "null") return origin === undefined;
  try {
    return new URL(origin).host === (c.req.header("host") ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
};

const secureRequest = (c: Context) => c.req.header("x-forwarded-proto") === "https" || new URL(c.req.url).protocol === "https:";

export function consoleRoutes(parts: ConsoleParts): Hono<Env> {
  const app = new Hono<Env>();
  const sessions = parts.adminToken ? new ConsoleSessions(parts.adminToken, parts.sessionMs) : undefined;
  const refusals = new SerialDelay(parts.refusalDelayMs ?? DEFAULT_REFUSAL_DELAY_MS);
  const render = (c: Context, body: Html, status: 200 | 401 | 403 | 404 | 503 = 200) => {
    c.header("cache-control", "no-store");
    c.header("x-frame-options", "DENY");
    c.header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    return c.html(body, status);
  };

  app.use("*", bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => c.text("a console form is at most 16 KiB", 413) }));

  app.get("/sign-in", (c) => {
    if (!sessions) return render(c, signInPage({ notConfigured: true }), 503);
    return render(c, signInPage({ expired: c.req.query("expired") === "1" }));
  });

  app.post("/sign-in", async (c) => {
    if (!sessions || !parts.adminToken) return render(c, signInPage({ notConfigured: true }), 503);
    if (!sameOrigin(c)) return render(c, forbiddenPage(), 403);
    const form = z.object({ token: z.string().max(4096) }).safeParse(await c.req.parseBody());
    if (!form.success || !tokenMatches(form.data.token, parts.adminToken)) {
      await refusals.wait();
      parts.log.warn({ event: "inbound_email_console_sign_in_refused", remote: c.req.header("x-forwarded-for") ?? null }, "console sign-in refused: wrong admin token");
      return render(c, signInPage({ refused: true }), 401);
    }
    const { cookie } = sessions.issue();
    setCookie(c, SESSION_COOKIE, cookie, { path: "/console", httpOnly: true, sameSite: "Strict", secure: secureRequest(c), maxAge: Math.floor(sessions.ttlMs / 1000) });
    parts.log.info({ event: "inbound_email_console_sign_in" }, "console sign-in");
    return c.redirect("/console", 303);
  });

  // Everything below needs a session; a POST also the session's CSRF token.
  app.use("*", async (c, next) => {
    if (!sessions) return render(c, signInPage({ notConfigured: true }), 503);
    const read = sessions.read(getCookie(c, SESSION_COOKIE));
    if (read.status !== "valid") {
      if (read.status !== "none") deleteCookie(c, SESSION_COOKIE, { path: "/console" });
      return c.redirect(read.status === "expired" ? "/console/sign-in?expired=1" : "/console/sign-in", 303);
    }
    if (c.req.method === "POST") {
      const body = await c.req.parseBody();
      if (!sameOrigin(c) || !sessions.csrfMatches(read.session, body.csrf)) {
        parts.log.warn({ event: "inbound_email_console_csrf_refused", path: c.req.path }, "console form refused: no or wrong CSRF token");
        return render(c, forbiddenPage(), 403);
      }
    }
    c.set("session", read.session);
    await next();
  });

  const csrf = (c: Context<Env>) => c.get("session").csrf;
  const formField = async (c: Context<Env>, name: string) => {
    const value = (await c.req.parseBody())[name];
    return typeof value === "string" ? value : undefined;
  };
  const settled = async <T>(work: Promise<T>): Promise<T | undefined> => work.catch((error: unknown) => (parts.log.warn({ event: "inbound_email_console_read_failed", err: error }, "a console page could not read one of its sources"), undefined));

  app.post("/sign-out", (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: "/console" });
    return c.redirect("/console/sign-in", 303);
  });

  app.get("/", async (c) => {
    const [queue, deadLetters, mailboxes] = await Promise.all([settled(parts.queue.stats()), settled(listDeadLetters(parts.queue, 5)), settled(listMailboxHealth(parts.providers.mailboxes, parts.health))]);
    return render(c, overviewPage(csrf(c), { queue, deadLetters, mailboxes, rates: parts.rates.perMinute() }));
  });

  app.get("/dead-letters", async (c) => render(c, deadLettersPage(csrf(c), await listDeadLetters(parts.queue, DEAD_LETTER_PAGE), flash(c))));

  app.get("/dead-letters/purge", async (c) => {
    const which = id.safeParse(c.req.query("id"));
    if (!which.success) return render(c, notFoundPage("Say which dead letter to purge.", csrf(c)), 404);
    if (which.data === "*") return render(c, confirmPurgePage(csrf(c), "*", (await listDeadLetters(parts.queue, 1)).total));
    if (!(await findDeadLetter(parts.queue, which.data))) return render(c, notFoundPage(`There is no dead letter with id ${which.data}.`, csrf(c)), 404);
    return render(c, confirmPurgePage(csrf(c), which.data, 1));
  });

  app.get("/dead-letters/:id", async (c) => {
    const record = await findDeadLetter(parts.queue, c.req.param("id"));
    if (!record) return render(c, notFoundPage(`There is no dead letter with id ${c.req.param("id")}: it may have been requeued or purged.`, csrf(c)), 404);
    return render(c, deadLetterPage(csrf(c), record));
  });

  app.post("/dead-letters/requeue", async (c) => {
    const which = id.safeParse(await formField(c, "id"));
    if (!which.success) return render(c, notFoundPage("Say which dead letter to requeue.", csrf(c)), 404);
    const n = await requeueDeadLetters(parts.queue, which.data);
    if (n === 0 && which.data !== "*") return render(c, notFoundPage(`There is no dead letter with id ${which.data} that can be requeued.`, csrf(c)), 404);
    parts.log.info({ event: "inbound_email_console_action", action: "dlq_requeue", target: which.data, count: n }, "console: dead letters requeued");
    return c.redirect(`/console/dead-letters?done=requeued&n=${n}`, 303);
  });

  app.post("/dead-letters/purge", async (c) => {
    const which = id.safeParse(await formField(c, "id"));
    if (!which.success) return render(c, notFoundPage("Say which dead letter to purge.", csrf(c)), 404);
    // Purging asks first: a POST that skipped the confirmation page is shown it.
    if ((await formField(c, "confirm")) !== "yes") return c.redirect(`/console/dead-letters/purge?id=${encodeURIComponent(which.data)}`, 303);
    const n = await purgeDeadLetters(parts.queue, which.data);
    if (n === 0 && which.data !== "*") return render(c, notFoundPage(`There is no dead letter with id ${which.data}.`, csrf(c)), 404);
    parts.log.info({ event: "inbound_email_console_action", action: "dlq_purge", target: which.data, count: n }, "console: dead letters purged");
    return c.redirect(`/console/dead-letters?done=purged&n=${n}`, 303);
  });

  app.get("/mailboxes", async (c) => render(c, mailboxesPage(csrf(c), await listMailboxHealth(parts.providers.mailboxes, parts.health))));

  app.get("/mailboxes/:id", async (c) => {
    const found = await mailboxWithHealth(parts.providers.mailboxes, parts.health, c.req.param("id"));
    if (!found) return render(c, notFoundPage(`There is no connected mailbox with id ${c.req.param("id")}.`, csrf(c)), 404);
    return render(c, mailboxPage(csrf(c), found, flash(c)));
  });

  app.post("/mailboxes/:id/renew", async (c) => {
    const providerId = c.req.param("id");
    const report = await renewMailboxNow(parts.providers, providerId);
    if (!report) return render(c, notFoundPage(`There is no connected mailbox with id ${providerId}.`, csrf(c)), 404);
    parts.log.info({ event: "inbound_email_console_action", action: "renew", providerId, result: report.action, code: report.code }, "console: renew now");
    const failed = report.action === "failed" || report.action === "waiting";
    const detail = failed ? (report.code ?? "unexpected_error") : report.action;
    return c.redirect(`/console/mailboxes/${encodeURIComponent(providerId)}?done=renewed&code=${encodeURIComponent(detail)}${failed ? "&failed=1" : ""}`, 303);
  });

  app.post("/mailboxes/:id/resync", async (c) => {
    const providerId = c.req.param("id");
    const result = await resyncMailboxNow(parts.providers, providerId);
    if (!result) return render(c, notFoundPage(`There is no connected mailbox with id ${providerId}.`, csrf(c)), 404);
    parts.log.info({ event: "inbound_email_console_action", action: "resync", providerId, result: result.action }, "console: resync now");
    const target = `/console/mailboxes/${encodeURIComponent(providerId)}?done=resynced`;
    if (result.action !== "swept") return c.redirect(`${target}&failed=1&code=${result.action}`, 303);
    if (result.report.error) return c.redirect(`${target}&failed=1&code=${encodeURIComponent(result.report.error)}`, 303);
    return c.redirect(`${target}&n=${result.report.enqueued}`, 303);
  });

  app.get("/messages", async (c) => render(c, messagesPage(csrf(c), await recentMessages(parts.db, MESSAGES_PAGE))));

  app.get("/webhooks", async (c) => {
    const deliveries = parts.deliveries;
    const failedOnly = c.req.query("all") !== "1";
    const data = deliveries ? { records: await deliveries.list({ failedOnly, limit: DELIVERIES_PAGE }), failedOnly } : undefined;
    return render(c, deliveriesPage(csrf(c), data, flash(c)));
  });

  app.post("/webhooks/redeliver", async (c) => {
    const deliveries = parts.deliveries;
    if (!deliveries) return render(c, deliveriesPage(csrf(c), undefined), 404);
    const which = id.safeParse(await formField(c, "id"));
    if (!which.success) return render(c, notFoundPage("Say which delivery to redeliver.", csrf(c)), 404);
    const n = which.data === "*" ? await deliveries.redeliverAllFailed() : (await deliveries.redeliver(which.data)) ? 1 : 0;
    if (n === 0 && which.data !== "*") return render(c, notFoundPage(`There is no webhook delivery with id ${which.data}.`, csrf(c)), 404);
    parts.log.info({ event: "inbound_email_console_action", action: "webhook_redeliver", target: which.data, count: n }, "console: webhook deliveries redelivered");
    return c.redirect(`/console/webhooks?done=redelivered&n=${n}`, 303);
  });

  app.all("*", (c) => render(c, notFoundPage(`There is no console page at ${c.req.path}.`, csrf(c)), 404));
  return app;
}
