// Helpers for the Worker tests: each test gets its own queue key prefix (passed to the app as an
// env override), a registry to fill, real signed tokens, and a view of what reached Redis.
import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis";
import { importJWK, SignJWT, type JWTPayload } from "jose";
import { app } from "../../src/index.ts";
import type { Env } from "../../src/env.ts";
import { queueKeys, queueSettings } from "../../src/queue/config.ts";
import { PointerQueue } from "../../src/queue/queue.ts";
import { createUpstashRedis, UpstashScriptClient } from "../../src/queue/upstash.ts";
import { registryField, registryValue, sha256Hex } from "../../src/queue/registry.ts";

export type TestEnv = Env & { SIGNING_JWK: string; OTHER_SIGNING_JWK: string; GOOGLE_JWKS_URL: string; UPSTASH_REDIS_REST_URL: string; UPSTASH_REDIS_REST_TOKEN: string };
export const testEnv = env as unknown as TestEnv;
export const GOOGLE_AUDIENCE = testEnv.GOOGLE_PUBSUB_AUDIENCE ?? "";
export const GOOGLE_PUSH_ACCOUNT = testEnv.GOOGLE_PUBSUB_SERVICE_ACCOUNTS ?? "";

let n = 0;
export function scope() {
  const prefix = `test:worker:${Date.now().toString(36)}:${(n++).toString(36)}:${Math.random().toString(36).slice(2, 6)}:`;
  const keys = queueKeys(prefix);
  const redis = new Redis({ url: testEnv.UPSTASH_REDIS_REST_URL, token: testEnv.UPSTASH_REDIS_REST_TOKEN, automaticDeserialization: false, enableAutoPipelining: false });
  const appEnv: Env = { ...testEnv, UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: prefix };
  return {
    prefix,
    keys,
    redis,
    env: appEnv,
    fetch: (path: string, init?: RequestInit, overrides: Partial<Env> = {}) => app.request(path, init, { ...appEnv, ...overrides }),
    /** The queue on this scope's keys, as the consumer sees it. */
    queue: () => new PointerQueue(new UpstashScriptClient(createUpstashRedis({ url: testEnv.UPSTASH_REDIS_REST_URL, token: testEnv.UPSTASH_REDIS_REST_TOKEN })), { ...queueSettings({}), keys }),
    /** Every job waiting to be claimed, oldest first within each tenant: the arrivals list, then
     * each tenant's lane. */
    async ready(): Promise<Record<string, unknown>[]> {
      const raws = (await redis.lrange(keys.ready, 0, -1)).reverse();
      for (const lane of (await redis.keys(`${keys.lanes}*`)).sort()) raws.push(...(await redis.lrange(lane, 0, -1)).reverse());
      return raws.map((r) => JSON.parse(r) as Record<string, unknown>);
    },
    async registerMicrosoft(subscriptionId: string, clientState: string, tenantId = "tenant-ms", providerId = `prov-${subscriptionId}`) {
      await redis.hset(keys.registry, { [registryField.microsoftSubscription(subscriptionId)]: registryValue({ tenantId, providerId, secretHash: await sha256Hex(clientState) }) });
    },
    async registerGoogle(address: string, tenantId = "tenant-g", providerId = "prov-gmail") {
      await redis.hset(keys.registry, { [registryField.googleMailbox(address)]: registryValue({ tenantId, providerId }) });
    },
    async registerImap(providerId: string, tenantId = "tenant-imap") {
      await redis.hset(keys.registry, { [registryField.imapProvider(providerId)]: registryValue({ tenantId, providerId }) });
    },
    async counters(): Promise<Record<string, string>> {
      const flat = (await redis.eval("return redis.call('HGETALL', KEYS[1])", [keys.counters], [])) as string[];
      const out: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = String(flat[i + 1]);
      return out;
    },
  };
}

export async function googleToken(claims: JWTPayload, options: { jwk?: string; header?: Record<string, unknown> } = {}): Promise<string> {
  const jwk = JSON.parse(options.jwk ?? testEnv.SIGNING_JWK) as { kid: string };
  const key = await importJWK(jwk, "RS256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: "https://accounts.google.com", aud: GOOGLE_AUDIENCE, email: GOOGLE_PUSH_ACCOUNT, email_verified: true, iat: now, exp: now + 3600, sub: "1234567890", ...claims })
    .setProtectedHeader({ alg: "RS256", kid: jwk.kid, typ: "JWT", ...options.header })
    .sign(key);
}

export function pushBody(data: unknown, messageId = `pubsub-${Math.random().toString(36).slice(2)}`): string {
  const encoded = typeof data === "string" ? data : btoa(JSON.stringify(data));
  return JSON.stringify({ message: { data: encoded, messageId, publishTime: new Date().toISOString() }, subscription: "projects/inlet-test/subscriptions/gmail-push" });
}

export async function imapSignature(secret: string, body: string, t = Math.floor(Date.now() / 1000)): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${t}.${body}`)));
  return `t=${t},v1=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Counts the Redis commands the Worker sends to the REST endpoint while `body` runs. */
export async function countRedisCommands<T>(body: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const commands: string[] = [];
  const original = globalThis.fetch;
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url;
    if (url.startsWith(testEnv.UPSTASH_REDIS_REST_URL) && typeof init?.body === "string") {
      const sent = JSON.parse(init.body) as string[] | string[][];
      const list = Array.isArray(sent[0]) ? (sent as string[][]) : [sent as string[]];
      commands.push(...list.map((c) => String(c[0]).toLowerCase()));
    }
    return original(input, init);
  };
  try {
    return { result: await body(), commands };
  } finally {
    globalThis.fetch = original;
  }
}
