// The operations console in a real headless Chromium (Debian's chromium, driven by playwright-core)
// against a real consumer (startConsumerApp) on Redis, PostgreSQL and the local Graph fake:
// signing in, a dead letter seen, opened, requeued and becoming a ticket; a subscription that
// expires soon renewed from the mailbox page; a wrong token refused; a form without the CSRF token
// refused with 403.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ADMIN_TOKEN, CLIENT_SECRET, startOperatedConsumer, testPort, untilDeadLettered, type OperatedConsumer } from "../../support/operated-consumer.ts";
import { until } from "../../support/until.ts";

export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let c: OperatedConsumer;
let browser: Browser;

beforeAll(async () => {
  [c, browser] = await Promise.all([startOperatedConsumer({ port: testPort(110) }), chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS })]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await c?.close();
});

async function signedIn(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(`${c.url}/console`);
  expect(new URL(page.url()).pathname).toBe("/console/sign-in");
  await page.fill("#token", ADMIN_TOKEN);
  await Promise.all([page.waitForURL(`${c.url}/console`), page.click("button[type=submit]")]);
  return { context, page };
}

describe("the operations console in Chromium", () => {
  it("signs in with the admin token into a session cookie that is HttpOnly and SameSite=Strict; the deliveries page lists the outbox's deliveries (none yet)", async () => {
    const { context, page } = await signedIn();
    expect(await page.textContent("h1")).toBe("Overview");
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "inlet_console", httpOnly: true, sameSite: "Strict", path: "/console" });
    expect(cookie!.value).not.toContain(ADMIN_TOKEN);
    // The page reads the real outbox, which holds nothing yet: no endpoint is configured.
    await page.click("a[href='/console/webhooks']");
    expect(await page.textContent("main")).toContain("No failed deliveries.");
    await context.close();
  });

  it("a dead letter is seen, opened, requeued, and becomes a ticket", async () => {
    const { jobId, messageId } = await c.deliver("Printer on fire", { fault: { status: 400 } });
    await untilDeadLettered(c, jobId);
    const { context, page } = await signedIn();
    await page.click("a[href='/console/dead-letters']");
    const row = page.locator("tr", { hasText: jobId });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain("microsoft_fetch_http_400");
    await page.click(`a[href='/console/dead-letters/${jobId}']`);
    expect(await page.textContent("h1")).toContain(jobId);
    expect(await page.textContent("pre")).toContain(messageId);
    // The Graph fault is gone: a requeued job fetches the message this time.
    c.graph.faults.clear(`message:${messageId}`);
    const before = await c.tickets();
    await Promise.all([page.waitForURL(/\/console\/dead-letters\?done=requeued&n=1$/), page.click("button:has-text('Requeue')")]);
    expect(await page.textContent("[role=status]")).toBe("Requeued 1 dead letter(s).");
    await until(async () => (await c.tickets()) === before + 1, 20_000, "the requeued job's ticket");
    await page.goto(`${c.url}/console/messages`);
    const newest = page.locator("tbody tr").first();
    expect(await newest.textContent()).toMatch(/ticket.*#\d+.*normal/s);
    await page.goto(`${c.url}/console/dead-letters`);
    expect(await page.locator("tr", { hasText: jobId }).count()).toBe(0);
    await context.close();
  });

  it("a mailbox whose subscription expires within hours shows degraded, and Renew now renews it at Graph", async () => {
    const soon = new Date(Date.now() + 3600_000).toISOString();
    await c.app.mailboxes.updateCursors(c.providerId, { graphSubscriptionExpiresAt: soon });
    const { context, page } = await signedIn();
    await page.click("a[href='/console/mailboxes']");
    const row = page.locator("tr", { hasText: c.providerId });
    expect(await row.textContent()).toMatch(/degraded.*subscription expires in 59 min/s);
    await page.click(`a[href='/console/mailboxes/${c.providerId}']`);
    expect(await page.content()).not.toContain(CLIENT_SECRET);
    await Promise.all([page.waitForURL(/done=renewed/), page.click("button:has-text('Renew subscription now')")]);
    expect(await page.textContent("[role=status]")).toBe("Renew now: renewed.");
    expect(await page.textContent("dl")).toMatch(/status\s*healthy/);
    const expires = Date.parse((await c.app.mailboxes.get(c.providerId))!.cursors.graphSubscriptionExpiresAt!);
    expect(expires).toBeGreaterThan(Date.now() + 2 * 24 * 3600_000);
    expect(Date.parse(c.graph.subscriptions()[0]!.expirationDateTime)).toBe(expires);
    await context.close();
  });

  it("a wrong token is refused (401, after a delay) and sets no cookie", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${c.url}/console/sign-in`);
    await page.fill("#token", "not-the-token");
    const started = Date.now();
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("button[type=submit]")]);
    expect(response.status()).toBe(401);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await page.textContent("[role=status]")).toBe("That is not the admin token.");
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${c.url}/console/dead-letters`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await context.close();
  });

  it("a form posted without the session's CSRF token is refused with 403 and does nothing", async () => {
    const { jobId } = await c.deliver("Refused form", { fault: { status: 400 } });
    await untilDeadLettered(c, jobId);
    const { context, page } = await signedIn();
    await page.goto(`${c.url}/console/dead-letters/${jobId}`);
    // The page's own form, with its hidden csrf field taken out before it is sent.
    await page.locator("form[action='/console/dead-letters/requeue'] input[name=csrf]").evaluate((input) => input.remove());
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("button:has-text('Requeue')")]);
    expect(response.status()).toBe(403);
    expect(await page.textContent("h1")).toBe("Refused");
    // Another session's token does no better.
    const forged = await context.request.post(`${c.url}/console/dead-letters/requeue`, { form: { id: jobId, csrf: "A".repeat(32) }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect((await c.q.queue.deadLetters(0, 100)).records.map((r) => r.id)).toContain(jobId);
    await context.close();
  });
});
