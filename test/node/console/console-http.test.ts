// The console over plain HTTP against a real consumer: what a browser test need not repeat.
// Unknown ids and pages answer 404 with a page that says so; an expired or forged session goes
// back to sign-in; purging asks for confirmation; a cross-origin form is refused; the webhook
// deliveries page lists and redelivers through DeliveryOperations (here over a real table), and
// says when delivery is not configured; no page renders a credential or the admin token.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleSessions } from "../../../consumer/http/console/session.ts";
import { ADMIN_TOKEN, CLIENT_SECRET, startOperatedConsumer, testPort, untilDeadLettered, type OperatedConsumer } from "../../support/operated-consumer.ts";
import { CREATE_DELIVERIES, TableDeliveries } from "../../support/table-deliveries.ts";

const deliveries = new TableDeliveries();
let c: OperatedConsumer;
let session: { cookie: string; csrf: string };

beforeAll(async () => {
  c = await startOperatedConsumer({ port: testPort(130), parts: { deliveries } });
  await c.app.db.query(CREATE_DELIVERIES);
  deliveries.db = c.app.db;
  const signIn = await fetch(`${c.url}/console/sign-in`, { method: "POST", body: new URLSearchParams({ token: ADMIN_TOKEN }), redirect: "manual" });
  expect(signIn.status).toBe(303);
  const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
  const overview = await (await fetch(`${c.url}/console`, { headers: { cookie } })).text();
  session = { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(overview)![1]! };
}, 120_000);

afterAll(async () => c?.close());

const get = (path: string, cookie = session.cookie) => fetch(`${c.url}${path}`, { headers: { cookie }, redirect: "manual" });
const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${c.url}${path}`, { method: "POST", headers: { cookie: session.cookie, ...headers }, body: new URLSearchParams({ csrf: session.csrf, ...fields }), redirect: "manual" });

describe("the console over HTTP", () => {
  it("answers unknown dead letters, mailboxes and pages with 404 pages that say so", async () => {
    for (const [path, says] of [
      ["/console/dead-letters/no-such-job", "There is no dead letter with id no-such-job"],
      ["/console/mailboxes/no-such-mailbox", "There is no connected mailbox with id no-such-mailbox"],
      ["/console/nothing-here", "There is no console page at /console/nothing-here"],
    ] as const) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(await response.text()).toContain(says);
    }
    const requeue = await post("/console/dead-letters/requeue", { id: "no-such-job" });
    expect(requeue.status).toBe(404);
    expect(await requeue.text()).toContain("There is no dead letter with id no-such-job that can be requeued");
    expect((await post("/console/mailboxes/no-such-mailbox/renew", {})).status).toBe(404);
  });

  it("sends an expired session back to sign-in saying so, and a forged one to sign-in", async () => {
    const expired = new ConsoleSessions(ADMIN_TOKEN, -1000).issue().cookie;
    const response = await get("/console/dead-letters", `inlet_console=${expired}`);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/console/sign-in?expired=1");
    expect(await (await get("/console/sign-in?expired=1", "")).text()).toContain("Your session has expired: sign in again.");
    const forged = new ConsoleSessions("some-other-token").issue().cookie;
    expect((await get("/console", `inlet_console=${forged}`)).headers.get("location")).toBe("/console/sign-in");
    expect((await get("/console", "")).headers.get("location")).toBe("/console/sign-in");
  });

  it("purges a dead letter only after the confirmation page", async () => {
    const { jobId } = await c.deliver("To purge", { fault: { status: 400 } });
    await untilDeadLettered(c, jobId);
    const unconfirmed = await post("/console/dead-letters/purge", { id: jobId });
    expect(unconfirmed.status).toBe(303);
    expect(unconfirmed.headers.get("location")).toBe(`/console/dead-letters/purge?id=${jobId}`);
    const confirm = await (await get(`/console/dead-letters/purge?id=${jobId}`)).text();
    expect(confirm).toContain("deleted for good");
    expect(confirm).toContain('name="confirm" value="yes"');
    expect((await c.q.queue.deadLetters(0, 100)).records.map((r) => r.id)).toContain(jobId);
    const purged = await post("/console/dead-letters/purge", { id: jobId, confirm: "yes" });
    expect(purged.headers.get("location")).toBe("/console/dead-letters?done=purged&n=1");
    expect((await c.q.queue.deadLetters(0, 100)).records.map((r) => r.id)).not.toContain(jobId);
  });

  it("Resync now sweeps the mailbox, as `inlet providers resync` does, and says what it enqueued", async () => {
    const response = await post(`/console/mailboxes/${c.providerId}/resync`, {});
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toMatch(new RegExp(`^/console/mailboxes/${c.providerId}\\?done=resynced&n=\\d+$`));
    const page = await (await get(response.headers.get("location")!)).text();
    expect(page).toMatch(/Swept now: \d+ message\(s\) enqueued that were not yet processed\./);
    expect((await c.app.mailboxes.get(c.providerId))!.cursors.lastSweep).toBeDefined();
  });

  it("refuses a form over 16 KiB with 413", async () => {
    const response = await fetch(`${c.url}/console/sign-in`, { method: "POST", body: new URLSearchParams({ token: "x".repeat(20_000) }) });
    expect(response.status).toBe(413);
  });

  it("refuses a form from another origin even with the right token", async () => {
    const response = await post("/console/dead-letters/requeue", { id: "*" }, { origin: "https://evil.example" });
    expect(response.status).toBe(403);
  });

  it("lists failed webhook deliveries and redelivers one, then every failed one", async () => {
    const one = await deliveries.add("failed", "ticket.created", "HTTP 502 from the endpoint");
    await deliveries.add("failed", "ticket.replied", "timed out");
    await deliveries.add("delivered");
    const page = await (await get("/console/webhooks")).text();
    expect(page).toContain("HTTP 502 from the endpoint");
    expect(page).toContain("Redeliver every failed delivery");
    expect(page).not.toContain(">delivered<");
    const redeliver = await post("/console/webhooks/redeliver", { id: one });
    expect(redeliver.headers.get("location")).toBe("/console/webhooks?done=redelivered&n=1");
    expect((await deliveries.counts()).failed).toBe(1);
    expect((await post("/console/webhooks/redeliver", { id: "999999" })).status).toBe(404);
    await post("/console/webhooks/redeliver", { id: "*" });
    expect(await deliveries.counts()).toEqual({ pending: 2, failed: 0 });
  });

  it("renders no credential and never the admin token, on any page", async () => {
    await c.deliver("A message");
    for (const path of ["/console", "/console/dead-letters", "/console/mailboxes", `/console/mailboxes/${c.providerId}`, "/console/messages", "/console/webhooks?all=1"]) {
      const text = await (await get(path)).text();
      expect(text, path).not.toContain(CLIENT_SECRET);
      expect(text, path).not.toContain(ADMIN_TOKEN);
      expect(text, path).not.toContain("clientSecret");
    }
  });
});

describe("a consumer without INLET_ADMIN_TOKEN", () => {
  it("says the console is not configured", async () => {
    const bare = await startOperatedConsumer({ port: testPort(131), env: { INLET_ADMIN_TOKEN: "" } });
    try {
      const response = await fetch(`${bare.url}/console`, { redirect: "manual" });
      expect(response.status).toBe(503);
      expect(await response.text()).toContain("Set <code>INLET_ADMIN_TOKEN</code>");
      const signIn = await fetch(`${bare.url}/console/sign-in`, { method: "POST", body: new URLSearchParams({ token: "" }) });
      expect(signIn.status).toBe(503);
    } finally {
      await bare.close();
    }
  });
});
