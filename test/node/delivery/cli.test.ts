// `inlet webhooks …` and `inlet api-tokens create` from a second process while a consumer owns the
// embedded PGlite database (as `npm start` does): the CLI finds no DATABASE_URL, sees the
// consumer's HTTP server answer and runs every operation through its /admin endpoints with the
// admin token. The child could not open the database itself: this process holds its lock.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { inject } from "vitest";
import { startConsumerApp, type ConsumerApp } from "../../../consumer/app.ts";
import { consumerConfig } from "../../../consumer/config.ts";
import { createProcessor } from "../../../consumer/processing/processor.ts";
import { freePort } from "../../../dev/free-port.ts";
import { inlet } from "../../support/cli.ts";
import { TEST_DELIVERY_ENV } from "../../support/delivery.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { buildMail } from "../../support/mail.ts";
import { testQueue, type TestQueue } from "../../support/queues.ts";
import { until } from "../../support/until.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../support/webhook-receiver.ts";

const ADMIN_TOKEN = "admin-token-for-the-cli-test";
let dataDir: string;
let app: ConsumerApp;
let q: TestQueue;
let receiver: WebhookReceiver;
let cliEnv: Record<string, string | undefined>;
let mailboxId: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "inlet-cli-webhooks-"));
  q = testQueue("tcp");
  const port = await freePort();
  const prefix = q.settings.keys.ready.replace(/ready$/, "");
  app = await startConsumerApp(
    consumerConfig({
      ...TEST_DELIVERY_ENV,
      INLET_WEBHOOK_RETRY_WINDOW_MS: "400",
      REDIS_URL: inject("redisUrl"),
      UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: prefix,
      INLET_DATA_DIR: dataDir,
      INLET_IMAP_LISTENER: "0",
      INLET_HTTP_HOST: "127.0.0.1",
      INLET_HTTP_PORT: String(port),
      INLET_ADMIN_TOKEN: ADMIN_TOKEN,
    }),
    captureLogs().log,
  );
  mailboxId = await app.mailboxes.add({ tenantId: "acme", kind: "imap", address: "support@helpdesk.example", credentials: { type: "imap", host: "h", port: 1, secure: false, user: "u", password: "p" } });
  receiver = await startWebhookReceiver();
  cliEnv = { DATABASE_URL: undefined, INLET_DATA_DIR: dataDir, INLET_HTTP_PORT: String(port), INLET_ADMIN_TOKEN: ADMIN_TOKEN, INLET_ADMIN_URL: undefined, REDIS_URL: inject("redisUrl"), UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: prefix, INLET_SECRETS_KEY: undefined };
});

afterAll(async () => {
  await app?.stop();
  await receiver?.close();
  await q?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const cli = (...args: string[]) => inlet(args, cliEnv);

it("webhooks add, list, test, deliveries --failed, redeliver --all-failed, rotate-secret and remove go through the running consumer", async () => {
  const added = await cli("webhooks", "add", "--tenant", "acme", "--url", receiver.url, "--json");
  expect(added.stderr).toBe("");
  const endpoint = JSON.parse(added.stdout) as { id: string; secret: string; events: string[] };
  expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
  expect(endpoint.events).toEqual(["ticket.created", "ticket.replied", "ticket.noted"]);
  receiver.secrets = [endpoint.secret];

  expect((await cli("webhooks", "list")).stdout).toContain(endpoint.id);
  const ping = await cli("webhooks", "test", endpoint.id);
  expect(ping.stdout).toMatch(/^ping evt_ping_[0-9a-f]+: 204/);
  expect(receiver.received.map((r) => r.type)).toEqual(["webhook.ping"]);

  // The receiver refuses everything: the delivery runs out of its (shortened) retry window.
  receiver.behaviour = () => "error";
  await createProcessor({ db: app.db }).process({ provider: "imap", tenantId: "acme", providerId: mailboxId, providerMessageId: "1:1", raw: buildMail({ id: "cli@example.org" }) });
  await until(async () => JSON.parse((await cli("webhooks", "deliveries", "--failed", "--json")).stdout).length === 1, 20_000, "a failed delivery");
  const stats = await cli("queue", "stats", "--json");
  expect(JSON.parse(stats.stdout).webhooks).toMatchObject({ failed: 1, backlog: 0 });
  expect((await cli("queue", "stats")).stdout).toMatch(/webhook deliveries failed\s+1/);

  receiver.behaviour = () => "ok";
  expect((await cli("webhooks", "redeliver", "--all-failed")).stdout).toBe("1 failed delivery queued again\n");
  await until(() => receiver.applied.some((id) => id.startsWith("evt_") && !id.startsWith("evt_ping")), 10_000, "the redelivered event");
  const [delivery] = JSON.parse((await cli("webhooks", "deliveries", "--json")).stdout) as { id: number; status: string }[];
  expect(delivery!.status).toBe("delivered");

  const rotated = JSON.parse((await cli("webhooks", "rotate-secret", endpoint.id, "--json")).stdout) as { secret: string; previousSecretUntil: string };
  expect(rotated.secret).not.toBe(endpoint.secret);
  expect(new Date(rotated.previousSecretUntil).getTime()).toBeGreaterThan(Date.now());
  receiver.secrets = [endpoint.secret, rotated.secret];
  await cli("webhooks", "test", endpoint.id);
  expect(receiver.received.at(-1)!.verifiedBy).toEqual([0, 1]);

  expect((await cli("webhooks", "remove", endpoint.id)).stdout).toBe(`removed ${endpoint.id}\n`);
  expect((await cli("webhooks", "list")).stdout).toBe("no webhook endpoints\n");
});

it("api-tokens create through the consumer gives a token the read API takes", async () => {
  const created = JSON.parse((await cli("api-tokens", "create", "--tenant", "acme", "--json")).stdout) as { token: string };
  const response = await fetch(`${app.http!.url}/v1/tickets`, { headers: { authorization: `Bearer ${created.token}` } });
  expect(response.status).toBe(200);
});

it("bad input and a wrong admin token are refused with a clear message", async () => {
  const insecure = await cli("webhooks", "add", "--tenant", "acme", "--url", "http://example.com/hook");
  expect(insecure.code).toBe(2);
  expect(insecure.stderr).toContain("http is allowed only for loopback hosts");
  const unknownEvent = await cli("webhooks", "add", "--tenant", "acme", "--url", receiver.url, "--events", "ticket.exploded");
  expect(unknownEvent.code).toBe(2);
  const noTenant = await cli("webhooks", "add", "--tenant", "nobody", "--url", receiver.url);
  expect(noTenant.code).toBe(1);
  expect(noTenant.stderr).toContain('no tenant "nobody"');
  const wrong = await inlet(["webhooks", "list"], { ...cliEnv, INLET_ADMIN_TOKEN: "not-the-token" });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain("forbidden");
});
