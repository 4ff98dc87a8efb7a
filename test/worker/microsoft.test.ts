import { describe, expect, it } from "vitest";
import { countRedisCommands, scope } from "./support.ts";

const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

function item(subscriptionId: string, clientState: string, messageId: string, overrides: Record<string, unknown> = {}) {
  return {
    subscriptionId,
    subscriptionExpirationDateTime: "2026-12-01T00:00:00Z",
    clientState,
    changeType: "created",
    resource: `Users/mailbox-${subscriptionId}/Messages/${messageId}`,
    tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    resourceData: { "@odata.type": "#Microsoft.Graph.Message", "@odata.id": `Users/mailbox/Messages/${messageId}`, "@odata.etag": 'W/"CQAAABYAAAD"', id: messageId },
    ...overrides,
  };
}

describe("POST /webhooks/microsoft", () => {
  it("answers the validation handshake with the exact decoded token as text/plain, on any method, also for lifecycle", async () => {
    const s = scope();
    const token = "Validation: Token <&> with spaces/and+plus=";
    for (const [path, method] of [["/webhooks/microsoft", "POST"], ["/webhooks/microsoft", "GET"], ["/webhooks/microsoft/lifecycle", "POST"]] as const) {
      const started = Date.now();
      const res = await s.fetch(`${path}?validationToken=${encodeURIComponent(token)}`, { method, headers: { "content-type": "text/plain" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await res.text()).toBe(token);
      expect(Date.now() - started).toBeLessThan(1000);
    }
    expect(await s.ready()).toEqual([]);
  });

  it("happy path: a created message becomes one pointer with the immutable id, once", async () => {
    const s = scope();
    await s.registerMicrosoft("sub-1", "state-1", "tenant-a", "provider-a");
    const body = { value: [item("sub-1", "state-1", "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A")] };
    const first = await s.fetch("/webhooks/microsoft", json(body));
    expect(first.status).toBe(202);
    const again = await s.fetch("/webhooks/microsoft", json(body)); // Graph repeats notifications
    expect(again.status).toBe(202);
    const ready = await s.ready();
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({
      provider: "microsoft",
      tenantId: "tenant-a",
      providerId: "provider-a",
      attempt: 0,
      pointer: { subscriptionId: "sub-1", messageId: "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A", resource: "Users/mailbox-sub-1/Messages/AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A", changeType: "created" },
    });
    expect(JSON.stringify(ready[0])).not.toContain("clientState");
  });

  it("a batch of 50 from 3 subscriptions, 5 with a wrong clientState and 3 duplicates: exactly the valid, distinct pointers, in one script call", async () => {
    const s = scope();
    await s.registerMicrosoft("sub-a", "secret-a");
    await s.registerMicrosoft("sub-b", "secret-b");
    await s.registerMicrosoft("sub-c", "secret-c");
    const subs = [["sub-a", "secret-a"], ["sub-b", "secret-b"], ["sub-c", "secret-c"]] as const;
    const value: ReturnType<typeof item>[] = [];
    for (let i = 0; i < 42; i++) {
      const [sub, secret] = subs[i % 3]!;
      value.push(item(sub, secret, `msg-${i}`));
    }
    for (let i = 0; i < 5; i++) value.push(item("sub-b", "not-the-secret", `forged-${i}`));
    for (const i of [0, 1, 2]) value.push(item(subs[i % 3]![0], subs[i % 3]![1], `msg-${i}`)); // created + updated style repeats
    expect(value).toHaveLength(50);

    const { result: res, commands } = await countRedisCommands(async () => s.fetch("/webhooks/microsoft", json({ value })));
    expect(res.status).toBe(202);
    expect(commands).toEqual(["evalsha"]);
    const ids = (await s.ready()).map((j) => (j.pointer as { messageId: string }).messageId);
    expect(ids.sort()).toEqual(Array.from({ length: 42 }, (_, i) => `msg-${i}`).sort());
    expect(await s.counters()).toMatchObject({ "microsoft:enqueued": "42", "microsoft:forbidden": "5", "microsoft:duplicate": "3" });
  });

  it("drops and counts unknown subscriptions, wrong or missing clientState and non-created changes; answers 202", async () => {
    const s = scope();
    await s.registerMicrosoft("sub-1", "state-1");
    const res = await s.fetch("/webhooks/microsoft", json({ value: [item("sub-unknown", "x", "m1"), item("sub-1", "wrong", "m5"), item("sub-1", "state-1", "m2", { clientState: null }), item("sub-1", "state-1", "m3", { changeType: "updated" }), item("sub-1", "state-1", "m4", { resourceData: null })] }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 0, dropped: 5 });
    expect(await s.ready()).toEqual([]);
    expect(await s.counters()).toMatchObject({ "microsoft:unknown": "1", "microsoft:forbidden": "1", "microsoft:invalid": "3" });
  });

  it("an item the queue cannot take (lone surrogate, resource of 1,025-2,048 chars, wrong types) is dropped and counted; the batch's valid items are stored, no 503", async () => {
    const s = scope();
    await s.registerMicrosoft("sub-1", "state-1");
    const value = [
      item("sub-1", "state-1", "good-1"),
      item("sub-1", "state-1", "long", { resource: `Users/u/Messages/${"r".repeat(1500)}` }),
      item("sub-1", "state-1", "typed", { resourceData: { id: 42 } }),
      7,
      item("sub-1", "state-1", "X\ud800"),
    ];
    const res = await s.fetch("/webhooks/microsoft", json({ value }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1, dropped: 4 });
    expect((await s.ready()).map((j) => (j.pointer as { messageId: string }).messageId)).toEqual(["good-1"]);
    expect(await s.counters()).toMatchObject({ "microsoft:enqueued": "1", "microsoft:invalid": "4" });
    // Graph's retry of the valid item is a duplicate of a stored pointer, not of a half-written one.
    await s.fetch("/webhooks/microsoft", json({ value: [item("sub-1", "state-1", "good-1")] }));
    expect(await s.ready()).toHaveLength(1);
  });

  it("a batch with no item that could be valid costs no Redis call", async () => {
    const s = scope();
    const junk = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? item(`sub-${i}`, "", `m${i}`) : i % 3 === 1 ? item(`sub-${i}`, "x", `m${i}`, { changeType: "deleted" }) : { subscriptionId: i }));
    const { result, commands } = await countRedisCommands(async () => s.fetch("/webhooks/microsoft", json({ value: junk })));
    expect(result.status).toBe(202);
    expect(await result.json()).toEqual({ accepted: 0, dropped: 1000 });
    expect(commands).toEqual([]);
  });

  it("a lifecycle notification delivered three times is enqueued once", async () => {
    const s = scope();
    await s.registerMicrosoft("sub-1", "state-1");
    const removed = { subscriptionId: "sub-1", clientState: "state-1", lifecycleEvent: "subscriptionRemoved", subscriptionExpirationDateTime: "2026-12-03T00:00:00Z" };
    for (let i = 0; i < 3; i++) expect((await s.fetch("/webhooks/microsoft/lifecycle", json({ value: [removed] }))).status).toBe(202);
    // the same kind of event after a renewal (a new expiry) is a new event
    await s.fetch("/webhooks/microsoft/lifecycle", json({ value: [{ ...removed, subscriptionExpirationDateTime: "2026-12-05T00:00:00Z" }] }));
    expect((await s.ready()).map((j) => (j.pointer as { lifecycleEvent: string }).lifecycleEvent)).toEqual(["subscriptionRemoved", "subscriptionRemoved"]);
    expect(await s.counters()).toMatchObject({ "microsoft:enqueued": "2", "microsoft:duplicate": "2" });
  });

  it("a chunked body is counted while it is read and refused at the limit, without reading the rest", async () => {
    const s = scope();
    let pulled = 0;
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.byteLength;
        if (pulled > 50 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const res = await s.fetch("/webhooks/microsoft", { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
    expect(pulled).toBeLessThan(1024 * 1024 + 4 * chunk.byteLength);
  });

  it("a body whose stream breaks off is a 400, not a 500", async () => {
    const s = scope();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"value":['));
        controller.error(new Error("connection reset"));
      },
    });
    const res = await s.fetch("/webhooks/microsoft", { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "incomplete_body" } });
  });

  it("lifecycle events become lifecycle jobs", async () => {
    const s = scope();
    await s.registerMicrosoft("sub-1", "state-1", "tenant-a", "provider-a");
    const res = await s.fetch("/webhooks/microsoft/lifecycle", json({ value: [{ subscriptionId: "sub-1", clientState: "state-1", lifecycleEvent: "subscriptionRemoved", tenantId: "t", subscriptionExpirationDateTime: "2026-12-01T00:00:00Z" }, { subscriptionId: "sub-1", clientState: "wrong", lifecycleEvent: "missed" }] }));
    expect(res.status).toBe(202);
    const ready = await s.ready();
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ provider: "microsoft", kind: "lifecycle", tenantId: "tenant-a", providerId: "provider-a", pointer: { subscriptionId: "sub-1", lifecycleEvent: "subscriptionRemoved" } });
  });

  it("malformed bodies get a 4xx and enqueue nothing", async () => {
    const s = scope();
    await s.registerMicrosoft("sub-1", "state-1");
    const cases: [RequestInit, number][] = [
      [{ method: "POST", headers: { "content-type": "application/json" }, body: "{not json" }, 400],
      [json({ value: "nope" }), 400],
      [json({ value: [] }), 400],
      [json({ value: [1], validationTokens: "x" }), 400],
      [{ method: "POST", headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: "{}" }, 415],
      [{ method: "POST", headers: { "content-type": "application/json" }, body: new Uint8Array([0x7b, 0xff, 0x7d]) }, 400],
      [{ method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ value: [item("sub-1", "state-1", "m")] }) }, 415],
      [{ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ value: [item("sub-1", "state-1", "m".repeat(500))], pad: "x".repeat(1_100_000) }) }, 413],
      [{ method: "PUT", headers: { "content-type": "application/json" }, body: "{}" }, 405],
    ];
    for (const [init, status] of cases) {
      const res = await s.fetch("/webhooks/microsoft", init);
      expect(res.status, JSON.stringify(init).slice(0, 80)).toBe(status);
      expect(await res.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    expect(await s.ready()).toEqual([]);
  });

  it("answers 503 when Redis is unreachable, so Graph retries", async () => {
    const s = scope();
    const res = await s.fetch("/webhooks/microsoft", json({ value: [item("sub-1", "state-1", "m1")] }), { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "store_unavailable" } });
  });
});

describe("validationTokens on rich notifications", () => {
  const APP_ID = "11111111-2222-3333-4444-555555555555";
  const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";

  async function token(claims: Record<string, unknown>) {
    const { importJWK, SignJWT } = await import("jose");
    const { testEnv } = await import("./support.ts");
    const key = JSON.parse(testEnv.SIGNING_JWK) as { kid: string };
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: `https://sts.windows.net/${TENANT}/`, aud: APP_ID, azp: "0bf30f3b-4a52-48df-9a82-234910c4a086", iat: now, exp: now + 3600, ...claims }).setProtectedHeader({ alg: "RS256", kid: key.kid }).sign(await importJWK(key, "RS256"));
  }

  it("verifies them with jose when present: genuine ones pass, forged ones are refused with 401", async () => {
    const { testEnv } = await import("./support.ts");
    const s = scope();
    await s.registerMicrosoft("sub-1", "state-1");
    const overrides = { MICROSOFT_APP_ID: APP_ID, MICROSOFT_JWKS_URL: testEnv.GOOGLE_JWKS_URL };
    const body = (tokens: string[]) => json({ value: [item("sub-1", "state-1", "rich-1")], validationTokens: tokens });
    expect((await s.fetch("/webhooks/microsoft", body([await token({})]), overrides)).status).toBe(202);
    expect((await s.fetch("/webhooks/microsoft", body([await token({ aud: "someone-else" })]), overrides)).status).toBe(401);
    expect((await s.fetch("/webhooks/microsoft", body([await token({ azp: "not-graph" })]), overrides)).status).toBe(401);
    expect((await s.fetch("/webhooks/microsoft", body([await token({ iss: "https://sts.windows.net/other-tenant/" })]), overrides)).status).toBe(401);
    expect((await s.fetch("/webhooks/microsoft", body(["garbage"]), overrides)).status).toBe(401);
    expect(await s.ready()).toHaveLength(1);
  });
});
