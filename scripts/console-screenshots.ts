// `npm run docs:screenshots`: the console's overview and mailbox pages as README shows them
// (docs/console-overview.png, docs/console-mailbox.png, docs/console-mailbox-phone.png), taken in
// headless Chromium from a real consumer on embedded PGlite (a temporary directory) and the local
// Graph fake, with Redis at REDIS_URL (default 127.0.0.1:6379) under a key prefix of its own that
// is deleted afterwards. A handful of mailboxes in each state, real mail, real dead letters.
//   CHROMIUM=/usr/bin/chromium (default)
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { chromium } from "playwright-core";
import { startConsumerApp } from "../consumer/app.ts";
import { consumerConfig, DEFAULT_REDIS_URL } from "../consumer/config.ts";
import { subscribeMicrosoft } from "../consumer/providers/microsoft.ts";
import { createLogger } from "../consumer/runtime/log.ts";
import { freePort } from "../dev/free-port.ts";
import { startFakeGraph } from "../dev/fakes/graph.ts";
import { startValidationPeer } from "../dev/fakes/validation-peer.ts";
import { buildMail } from "../test/support/mail.ts";

const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
const prefix = `inlet:screenshots:${process.pid}:${Date.now().toString(36)}:`;
const dataDir = mkdtempSync(join(tmpdir(), "inlet-screenshots-"));
const token = randomBytes(18).toString("base64url");

const until = async (check: () => Promise<boolean>, what: string, ms = 30_000) => {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const [graph, peer] = await Promise.all([startFakeGraph(), startValidationPeer()]);
const app = await startConsumerApp(
  consumerConfig({
    REDIS_URL: redisUrl,
    UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: prefix,
    INLET_DATA_DIR: dataDir,
    MICROSOFT_GRAPH_BASE_URL: graph.graphBaseUrl,
    MICROSOFT_LOGIN_BASE_URL: graph.loginBaseUrl,
    INGRESS_URL: peer.url,
    INLET_IMAP_LISTENER: "0",
    INLET_HTTP_HOST: "127.0.0.1",
    INLET_HTTP_PORT: String(await freePort()),
    INLET_ADMIN_TOKEN: token,
    INLET_HEALTH_FLUSH_MS: "200",
    INLET_METRICS_CACHE_MS: "0",
    INLET_RECONCILE_INTERVAL_MS: "3600000",
  }),
  createLogger({ level: "warn" }),
);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
try {
  const microsoft = async (tenant: string, address: string) => {
    graph.addApp({ azureTenantId: `${tenant}-entra`, clientId: `${tenant}-app`, clientSecret: "secret" });
    const id = await app.mailboxes.add({ tenantId: tenant, kind: "microsoft", address, credentials: { type: "microsoft", azureTenantId: `${tenant}-entra`, clientId: `${tenant}-app`, clientSecret: "secret" } });
    await subscribeMicrosoft(app.providerContext, (await app.mailboxes.get(id))!);
    return id;
  };
  const deliver = async (providerId: string, address: string, subject: string, fault?: { status: number }) => {
    const messageId = graph.addMessage(address, buildMail({ id: `${randomBytes(6).toString("hex")}@customer.example`, subject }));
    if (fault) graph.faults.set(`message:${messageId}`, fault);
    const mailbox = (await app.mailboxes.get(providerId))!;
    await app.queue.enqueue([{ job: { provider: "microsoft", tenantId: mailbox.tenantId, providerId, pointer: { subscriptionId: mailbox.cursors.graphSubscriptionId!, messageId, resource: `Users/${address}/Messages/${messageId}`, changeType: "created" } } }]);
  };

  const contoso = await microsoft("contoso", "helpdesk@contoso.example");
  const fabrikam = await microsoft("fabrikam", "support@fabrikam.example");
  const tailspin = await microsoft("tailspin", "ops@tailspin.example");
  await app.mailboxes.add({
    tenantId: "northwind",
    kind: "google",
    address: "billing@northwind.example",
    credentials: { type: "google", clientId: "gc", clientSecret: "gs", refreshToken: "rt" },
    cursors: { gmailHistoryId: "4812", gmailWatchExpiration: new Date(Date.now() + 6 * 86_400_000).toISOString(), gmailTopic: "projects/northwind/topics/inlet", lastSweep: { at: new Date(Date.now() - 120_000).toISOString(), listed: 3, enqueued: 2, found: 2 } },
  });
  const adatum = await app.mailboxes.add({ tenantId: "adatum", kind: "imap", address: "sales@adatum.example", credentials: { type: "imap", host: "imap.adatum.example", port: 993, secure: true, user: "sales@adatum.example", password: "secret" } });
  await app.mailboxes.markNeedsReauthorisation(adatum, "imap_auth_failed");

  for (let i = 0; i < 9; i++) await deliver(contoso, "helpdesk@contoso.example", `Request ${i}`);
  for (let i = 0; i < 3; i++) await deliver(fabrikam, "support@fabrikam.example", `Question ${i}`);
  for (let i = 0; i < 3; i++) await deliver(tailspin, "ops@tailspin.example", `Alert ${i}`, { status: 400 });
  await until(async () => (await app.queue.stats()).dlq === 3 && (await app.db.query<{ n: number }>("SELECT count(*)::int AS n FROM tickets"))[0]!.n === 12, "mail processed and dead-lettered");
  // Fabrikam's subscription was not renewed in time: it expires in a few hours.
  await app.mailboxes.updateCursors(fabrikam, { graphSubscriptionExpiresAt: new Date(Date.now() + 5 * 3600_000).toISOString() });
  await until(async () => (await app.health.checkStatuses()).some((h) => h.consecutiveFailures >= 3), "the health flush");

  mkdirSync("docs", { recursive: true });
  const shoot = async (path: string, file: string, viewport: { width: number; height: number }) => {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${app.http!.url}/console/sign-in`);
    await page.fill("#token", token);
    await Promise.all([page.waitForURL(`${app.http!.url}/console`), page.click("button[type=submit]")]);
    await page.goto(`${app.http!.url}${path}`);
    await page.screenshot({ path: file, fullPage: true });
    await context.close();
    process.stdout.write(`wrote ${file}\n`);
  };
  await shoot("/console", "docs/console-overview.png", { width: 1100, height: 700 });
  await shoot(`/console/mailboxes/${fabrikam}`, "docs/console-mailbox.png", { width: 1100, height: 600 });
  await shoot(`/console/mailboxes/${fabrikam}`, "docs/console-mailbox-phone.png", { width: 390, height: 700 });
} finally {
  await browser.close();
  await app.stop();
  await Promise.all([graph.close(), peer.close()]);
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  rmSync(dataDir, { recursive: true, force: true });
}
