import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PointerQueue } from "../../src/queue/queue.ts";
import { queueSettings } from "../../src/queue/config.ts";
import { createUpstashRedis, UpstashScriptClient } from "../../src/queue/upstash.ts";
import worker from "../../src/index.ts";
import { scope, testEnv } from "./support.ts";

function queueOf(s: ReturnType<typeof scope>, overrides: Partial<ReturnType<typeof queueSettings>> = {}) {
  return new PointerQueue(new UpstashScriptClient(createUpstashRedis({ url: testEnv.UPSTASH_REDIS_REST_URL, token: testEnv.UPSTASH_REDIS_REST_TOKEN })), { ...queueSettings({}), keys: s.keys, ...overrides });
}

const imapJob = (uid: number) => ({ provider: "imap" as const, tenantId: "t", providerId: "p", pointer: { mailbox: "INBOX", uidValidity: "1", uid } });

describe("operations", () => {
  it("scheduled() reclaims an expired lease and promotes a due retry", async () => {
    const s = scope();
    const queue = queueOf(s, { claimTtlMs: 50, backoffBaseMs: 20, backoffMaxMs: 20 });
    await queue.enqueue([{ job: imapJob(1) }, { job: imapJob(2) }]);
    const [abandoned, failing] = (await queue.claim({ count: 2 })).claims;
    await queue.fail(failing!, { error: "imap_timeout" });
    await new Promise((r) => setTimeout(r, 120));

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), { ...testEnv, UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: s.prefix });
    await waitOnExecutionContext(ctx);

    const stats = await queue.stats();
    expect(stats).toMatchObject({ ready: 2, processing: 0, inflight: 0, delayed: 0 });
    const uids = (await s.ready()).map((j) => (j.pointer as { uid: number }).uid).sort();
    expect(uids).toEqual([1, 2]);
    void abandoned;
  });

  it("GET /stats needs the admin token and reports depths and ingress counters", async () => {
    const s = scope();
    await queueOf(s).enqueue([{ job: imapJob(1) }]);
    expect((await s.fetch("/stats")).status).toBe(401);
    expect((await s.fetch("/stats", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    const res = await s.fetch("/stats", { headers: { authorization: `Bearer ${testEnv.INLET_ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ queue: { ready: 1, processing: 0, inflight: 0, delayed: 0, dlq: 0 }, ingress: {} });
  });

  it("GET /healthz shows no secrets; unknown routes are JSON 404s", async () => {
    const s = scope();
    const health = await s.fetch("/healthz");
    expect(await health.text()).toBe('{"status":"ok"}');
    const missing = await s.fetch("/nope");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("configuration is read once and every gap answers 503 naming what is missing", async () => {
    const s = scope();
    const post = { method: "POST", headers: { "content-type": "application/json" }, body: "{}" };
    const cases: [Partial<Record<string, string>>, string, string, RegExp][] = [
      [{ UPSTASH_REDIS_REST_URL: "not a url" }, "/webhooks/microsoft", "not_configured", /UPSTASH_REDIS_REST_URL/],
      [{ UNIFIED_INBOUND_EMAIL_QUEUE_MAX_ATTEMPTS: "many" }, "/webhooks/imap", "not_configured", /UNIFIED_INBOUND_EMAIL_QUEUE_MAX_ATTEMPTS/],
      [{ GOOGLE_PUBSUB_AUDIENCE: "" }, "/webhooks/google", "google_not_configured", /GOOGLE_PUBSUB_AUDIENCE/],
      [{ IMAP_WEBHOOK_SECRET: " " }, "/webhooks/imap", "imap_not_configured", /IMAP_WEBHOOK_SECRET/],
      [{ INLET_ADMIN_TOKEN: "" }, "/stats", "admin_not_configured", /INLET_ADMIN_TOKEN/],
    ];
    for (const [overrides, path, code, message] of cases) {
      const res = await s.fetch(path, path === "/stats" ? {} : post, overrides);
      expect(res.status, code).toBe(503);
      expect(await res.json(), code).toMatchObject({ error: { code, message: expect.stringMatching(message) } });
    }
    const noStore = await s.fetch("/webhooks/microsoft", { ...post, body: JSON.stringify({ value: [{ subscriptionId: "s", clientState: "c", changeType: "created", resource: "r", resourceData: { id: "m" } }] }) }, { UPSTASH_REDIS_REST_TOKEN: "" });
    expect(await noStore.json()).toMatchObject({ error: { code: "store_not_configured" } });
    expect(noStore.status).toBe(503);
  });
});
