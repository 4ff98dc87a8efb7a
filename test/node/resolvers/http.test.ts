// The shared HTTP and token pieces of every provider call: Retry-After parsing, and OAuth tokens renewed
// before they expire (against the Google token endpoint of the local Gmail fake).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGmail, type FakeGmail } from "../../../dev/fakes/gmail.ts";
import { googleAccessToken } from "../../../consumer/auth/google.ts";
import { retryAfterMs } from "../../../consumer/provider-api/http.ts";
import { TokenCache } from "../../../consumer/auth/token-cache.ts";

const CLIENT = { type: "google" as const, clientId: "c", clientSecret: "s", refreshToken: "1//r" };
let gmail: FakeGmail;
beforeAll(async () => {
  gmail = await startFakeGmail();
  gmail.addClient(CLIENT);
});
afterAll(async () => gmail.close());

describe("provider HTTP and tokens", () => {
  it("Retry-After is read as delta-seconds or as an HTTP date; anything else is ignored", () => {
    const now = Date.parse("2026-11-28T12:00:00Z");
    expect(retryAfterMs("7", now)).toBe(7000);
    expect(retryAfterMs(" 0 ", now)).toBe(0);
    expect(retryAfterMs("Sat, 28 Nov 2026 12:00:30 GMT", now)).toBe(30_000);
    expect(retryAfterMs("Sat, 28 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs("-5", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it("a token is reused until shortly before it expires, then renewed (margin at most half its lifetime)", async () => {
    gmail.tokenExpiresIn = 2;
    const tokens = new TokenCache(60_000);
    const options = { tokenUrl: gmail.tokenUrl, tokens, timeoutMs: 2000 };
    const first = await googleAccessToken(options, CLIENT);
    expect(await googleAccessToken(options, CLIENT)).toBe(first);
    await new Promise((r) => setTimeout(r, 1100));
    const renewed = await googleAccessToken(options, CLIENT);
    expect(renewed).not.toBe(first);
    expect(tokens.requests).toBe(2);
  });
});
