import { describe, expect, it } from "vitest";
import { countRedisCommands, GOOGLE_AUDIENCE, googleToken, pushBody, scope, testEnv } from "./support.ts";

const push = (token: string | undefined, body: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  body,
});

function base64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

describe("POST /webhooks/google", () => {
  it("happy path: a verified push becomes one pointer; the same Pub/Sub message again is acked with 204", async () => {
    const s = scope();
    await s.registerGoogle("support@example.com", "tenant-g", "provider-g");
    const body = pushBody({ emailAddress: "Support@Example.com", historyId: 9876543210 }, "pubsub-1");
    const res = await s.fetch("/webhooks/google", push(await googleToken({}), body));
    expect(res.status).toBe(202);
    const again = await s.fetch("/webhooks/google", push(await googleToken({}), body));
    expect(again.status).toBe(204);
    const ready = await s.ready();
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ provider: "google", tenantId: "tenant-g", providerId: "provider-g", pointer: { emailAddress: "support@example.com", historyId: "9876543210", pubsubMessageId: "pubsub-1" } });
  });

  it("unknown mailbox, duplicate and stale historyId (at or below the consumer-confirmed cursor) are answered 204, counted, not enqueued", async () => {
    const s = scope();
    await s.registerGoogle("support@example.com");
    const token = await googleToken({});
    const send = (historyId: string, messageId?: string) => s.fetch("/webhooks/google", push(token, pushBody({ emailAddress: "support@example.com", historyId }, messageId)));
    expect((await s.fetch("/webhooks/google", push(token, pushBody({ emailAddress: "nobody@example.com", historyId: "5" })))).status).toBe(204);
    expect((await send("100", "m-100")).status).toBe(202);
    expect((await send("100", "m-100")).status).toBe(204); // Pub/Sub redelivery
    await s.queue().confirmGmailCursor("Support@Example.com", "100");
    expect((await send("100")).status).toBe(204);
    expect((await send("99")).status).toBe(204);
    expect((await send("101")).status).toBe(202);
    expect((await s.ready()).map((j) => (j.pointer as { historyId: string }).historyId)).toEqual(["100", "101"]);
    expect(await s.counters()).toMatchObject({ "google:unknown": "1", "google:duplicate": "1", "google:stale": "2", "google:enqueued": "2" });
  });

  it("a replayed genuine token with a huge historyId does not silence the mailbox: the next three genuine pushes are all enqueued", async () => {
    const s = scope();
    await s.registerGoogle("support@example.com");
    const captured = await googleToken({});
    const replay = await s.fetch("/webhooks/google", push(captured, pushBody({ emailAddress: "support@example.com", historyId: "18446744073709551615" }, "attacker-1")));
    expect(replay.status).toBe(202); // a genuine token: the edge cannot tell; the consumer lists from its own cursor
    await s.queue().confirmGmailCursor("support@example.com", "1000"); // what the consumer really read
    for (const historyId of ["1001", "1002", "1003"]) {
      const res = await s.fetch("/webhooks/google", push(await googleToken({}), pushBody({ emailAddress: "support@example.com", historyId })));
      expect(res.status, historyId).toBe(202);
    }
    const ids = (await s.ready()).map((j) => (j.pointer as { historyId: string }).historyId);
    expect(ids).toEqual(["18446744073709551615", "1001", "1002", "1003"]);
    expect(await s.redis.hget(s.keys.gmailCursor, "google:mailbox:support@example.com")).toBe("1000");
  });

  it("historyIds are normalised: leading zeros are dropped before they are compared, deduplicated or stored; out of range is 400", async () => {
    const s = scope();
    await s.registerGoogle("support@example.com");
    const token = await googleToken({});
    await s.queue().confirmGmailCursor("support@example.com", "0000000000000000000000005");
    expect(await s.redis.hget(s.keys.gmailCursor, "google:mailbox:support@example.com")).toBe("5");
    const send = (historyId: unknown, messageId?: string) => s.fetch("/webhooks/google", push(token, pushBody({ emailAddress: "support@example.com", historyId }, messageId)));
    expect((await send("00000000000000000002")).status).toBe(204); // 2 <= 5: stale, not "newer by length"
    expect((await send("0000000000000000000010", "p-10")).status).toBe(202);
    expect((await send("10", "p-10")).status).toBe(204); // the same push spelled without zeros
    expect((await send(11, "p-11")).status).toBe(202);
    for (const bad of ["18446744073709551616", "0", "-1", "1e3", 2 ** 60, "x"]) expect((await send(bad)).status, String(bad)).toBe(400);
    expect((await s.ready()).map((j) => (j.pointer as { historyId: string }).historyId)).toEqual(["10", "11"]);
  });

  it("refuses a token issued in the future beyond the clock skew, or living longer than Google's hour", async () => {
    const s = scope();
    await s.registerGoogle("support@example.com");
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, Record<string, number>, number][] = [
      ["issued 10 min ahead", { iat: now + 600, exp: now + 600 + 3600 }, 401],
      ["lives 2 h", { iat: now - 60, exp: now + 7140 }, 401],
      ["issued 10 s ahead (within skew)", { iat: now + 10, exp: now + 10 + 3600 }, 202],
      ["exactly one hour", { iat: now - 100, exp: now + 3500 }, 202],
    ];
    let n = 0;
    for (const [name, claims, status] of cases) {
      const res = await s.fetch("/webhooks/google", push(await googleToken(claims), pushBody({ emailAddress: "support@example.com", historyId: String(++n) })));
      expect(res.status, name).toBe(status);
      if (status === 401) expect(await res.json(), name).toMatchObject({ error: { code: "unauthorized", message: expect.stringMatching(/issued_in_future|lifetime_too_long/) } });
    }
  });

  it("a lone UTF-16 surrogate in an id is refused with 400 before Redis is called", async () => {
    const s = scope();
    await s.registerGoogle("support@example.com");
    const token = await googleToken({});
    const { result, commands } = await countRedisCommands(async () => {
      const a = await s.fetch("/webhooks/google", push(token, pushBody({ emailAddress: "support@example.com", historyId: "5" }, "X\ud800")));
      const b = await s.fetch("/webhooks/google", push(token, pushBody({ emailAddress: "support\ud800@example.com", historyId: "5" })));
      return [a.status, b.status];
    });
    expect(result).toEqual([400, 400]);
    expect(commands).toEqual([]);
    expect(await s.ready()).toEqual([]);
  });

  it("concurrent first requests share one JWKS fetch", async () => {
    const { RemoteKeys } = await import("../../src/auth/remote-keys.ts");
    const keys = new RemoteKeys(testEnv.GOOGLE_JWKS_URL);
    const { jwtVerify } = await import("jose");
    const tokens = await Promise.all(Array.from({ length: 10 }, () => googleToken({})));
    const results = await Promise.all(tokens.map((t) => jwtVerify(t, keys.getKey, { audience: GOOGLE_AUDIENCE })));
    expect(results).toHaveLength(10);
    expect(keys.fetches).toBe(1);
  });

  it("refuses forged and broken tokens with 401 and enqueues nothing", async () => {
    const s = scope();
    await s.registerGoogle("support@example.com");
    const now = Math.floor(Date.now() / 1000);
    const header = base64url({ alg: "none", typ: "JWT" });
    const claims = base64url({ iss: "https://accounts.google.com", aud: GOOGLE_AUDIENCE, email: testEnv.GOOGLE_PUBSUB_SERVICE_ACCOUNTS, email_verified: true, iat: now, exp: now + 3600 });
    const publicJwk = JSON.parse(testEnv.SIGNING_JWK) as { n: string; e: string; kid: string };
    const hsKey = await crypto.subtle.importKey("raw", new TextEncoder().encode(JSON.stringify({ kty: "RSA", n: publicJwk.n, e: publicJwk.e })), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const hsHeader = base64url({ alg: "HS256", typ: "JWT", kid: publicJwk.kid });
    const hsSig = new Uint8Array(await crypto.subtle.sign("HMAC", hsKey, new TextEncoder().encode(`${hsHeader}.${claims}`)));
    const hs256 = `${hsHeader}.${claims}.${btoa(String.fromCharCode(...hsSig)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}`;

    const tokens: [string, string | undefined][] = [
      ["no token", undefined],
      ["alg none", `${header}.${claims}.`],
      ["HS256 signed with the public key", hs256],
      ["wrong issuer", await googleToken({ iss: "https://evil.example.com" })],
      ["wrong audience", await googleToken({ aud: "https://inlet.test/other" })],
      ["wrong email", await googleToken({ email: "attacker@evil-project.iam.gserviceaccount.com" })],
      ["email not verified", await googleToken({ email_verified: false })],
      ["expired", await googleToken({ iat: now - 7200, exp: now - 3600 })],
      ["not yet valid", await googleToken({ nbf: now + 3600 })],
      ["unknown kid", await googleToken({}, { jwk: testEnv.OTHER_SIGNING_JWK })],
      ["garbage", "not.a.jwt"],
      ["token for another audience", await googleToken({ aud: "https://someone-else.example.com/push" })],
    ];
    for (const [name, token] of tokens) {
      const res = await s.fetch("/webhooks/google", push(token, pushBody({ emailAddress: "support@example.com", historyId: "7" })));
      expect(res.status, name).toBe(401);
      expect(await res.json(), name).toMatchObject({ error: { code: "unauthorized" } });
    }
    expect(await s.ready()).toEqual([]);
  });

  it("malformed bodies: 4xx, nothing enqueued, no 5xx", async () => {
    const s = scope();
    await s.registerGoogle("support@example.com");
    const token = await googleToken({});
    const cases: [string, RequestInit, number][] = [
      ["not JSON", push(token, "{"), 400],
      ["wrong shape", push(token, JSON.stringify({ message: "x" })), 400],
      ["base64 garbage", push(token, pushBody("%%%not-base64%%%")), 400],
      ["base64 of non-JSON", push(token, pushBody(btoa("hello"))), 400],
      ["data without historyId", push(token, pushBody({ emailAddress: "support@example.com" })), 400],
      ["huge", push(token, pushBody({ emailAddress: "support@example.com", historyId: "1", pad: "x".repeat(70_000) })), 413],
      ["wrong content type", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" }, body: pushBody({ emailAddress: "support@example.com", historyId: "1" }) }, 415],
    ];
    for (const [name, init, status] of cases) {
      const res = await s.fetch("/webhooks/google", init);
      expect(res.status, name).toBe(status);
    }
    expect(await s.ready()).toEqual([]);
  });

  it("answers 503 when Redis is unreachable", async () => {
    const s = scope();
    const res = await s.fetch("/webhooks/google", push(await googleToken({}), pushBody({ emailAddress: "support@example.com", historyId: "1" })), { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" });
    expect(res.status).toBe(503);
  });
});
