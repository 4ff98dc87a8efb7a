// Ingress fuzzing: mutated requests across every route against the built Worker in plain workerd
// (bench/support/edge.ts), one at a time so that each answer, each Redis call and each pointer
// can be pinned on the request that caused it.
//
// Invariants checked on every request:
//   - no 5xx, except a 503 whose code names the store or an unconfigured route;
//   - every 4xx from the Worker carries {error: {code, message}};
//   - an invalid request enqueues nothing (ready-list length before and after);
//   - a request the edge can refuse alone (bad token or signature, malformed body, an item that
//     cannot be valid) costs no Redis call (INFO commandstats of the edge's own Redis);
//   - no request takes over 2 s; no 50 MB body raises workerd's memory by more than the limit;
//   - the Graph handshake answers text/plain with nosniff;
//   - a genuine control request, every 500th, is accepted (202) and enqueues its pointers.
// Answers that come from workerd's HTTP layer rather than the Worker (a malformed chunk size,
// `OPTIONS *`, a lying Content-Length) are tallied apart: they never reach the Worker.
import { createHash, createHmac, randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { importJWK, SignJWT, type JWK, type JWTPayload } from "jose";
import { registryField, registryValue } from "../../src/queue/registry.ts";
import { ADMIN_TOKEN, GOOGLE_AUDIENCE, GOOGLE_PUSH_ACCOUNT, IMAP_SECRET, type Edge } from "./edge.ts";

/** What a request may do: `never` enqueue, `may` (a mutation that leaves a genuine request valid),
 * or enqueue exactly `n` pointers (controls). `redis`: `none` when the edge can refuse it alone. */
interface Expect {
  enqueue: "never" | "may" | number;
  redis: "none" | "any";
  /** Statuses that are right for this request; anything else is a finding. */
  status?: number[];
}

interface Spec {
  kind: string;
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Bytes written on a raw socket (protocol-level mutations); `halfClose` ends the write side. */
  raw?: { bytes: Buffer; halfClose?: boolean };
  /** A body streamed in chunks of `chunk` bytes, `total` in all (chunked transfer encoding). */
  stream?: { total: number; chunk: number };
  expect: Expect;
  /** Answers from workerd's HTTP layer are expected (reported apart). */
  protocol?: boolean;
  /** A large body: the server may close (reset) the connection while the client still writes,
   * and a reset can discard the answer before the client reads it; tallied apart as "reset". */
  large?: boolean;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  ms: number;
}

export interface FuzzReport {
  requests: number;
  controls: number;
  durationMs: number;
  byKind: Record<string, { count: number; statuses: Record<string, number> }>;
  httpLayer: Record<string, Record<string, number>>;
  /** Every violation counted; the first 200 are kept in `violations`. */
  violationCount: number;
  violations: { kind: string; problem: string; status: number; body: string }[];
  maxMs: number;
  p99Ms: number;
  redisCalls: { refusedAlone: number; total: number };
  bigBody: { sent: number; maxRssGrowthBytes: number; limitBytes: number };
  enqueued: number;
  workerdRssBytes: { start: number; end: number; every10k: number[] };
}

// ---- a small seeded PRNG, so a run can be repeated ----
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 4294967296);
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!,
  };
}
type Rng = ReturnType<typeof prng>;

const SUBSCRIPTIONS = Array.from({ length: 5 }, (_, i) => ({ id: `fuzz-sub-${i}`, clientState: createHash("sha256").update(`state-${i}`).digest("base64url") }));
const MAILBOX = "support@fuzz.example";
const IMAP_PROVIDER = "fuzz-imap";
const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");
const b64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");

export async function seedRegistry(edge: Edge): Promise<void> {
  const entries: Record<string, string> = {};
  for (const s of SUBSCRIPTIONS) entries[registryField.microsoftSubscription(s.id)] = registryValue({ tenantId: "fuzz", providerId: `p-${s.id}`, secretHash: sha256Hex(s.clientState) });
  entries[registryField.googleMailbox(MAILBOX)] = registryValue({ tenantId: "fuzz", providerId: "p-gmail" });
  entries[registryField.imapProvider(IMAP_PROVIDER)] = registryValue({ tenantId: "fuzz", providerId: IMAP_PROVIDER });
  await edge.redis.hset(edge.keys.registry, entries);
}

// ---- genuine requests ----
let serial = 0;
const fresh = (tag: string) => `${tag}-${(serial++).toString(36)}-${randomUUID().slice(0, 8)}`;

function graphItem(sub = SUBSCRIPTIONS[0]!, messageId = fresh("m"), overrides: Record<string, unknown> = {}) {
  return {
    subscriptionId: sub.id,
    subscriptionExpirationDateTime: "2026-12-10T00:00:00Z",
    clientState: sub.clientState,
    changeType: "created",
    resource: `Users/fuzz-user/Messages/${messageId}`,
    tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    resourceData: { "@odata.type": "#Microsoft.Graph.Message", "@odata.id": `Users/fuzz-user/Messages/${messageId}`, "@odata.etag": 'W/"CQAAABYAAAD"', id: messageId },
    ...overrides,
  };
}

const json = { "content-type": "application/json" };

export interface Signer {
  token(claims?: JWTPayload, header?: Record<string, unknown>, jwk?: JWK): Promise<string>;
}

export async function signer(edge: Edge): Promise<Signer> {
  const keys = new Map<JWK, Awaited<ReturnType<typeof importJWK>>>();
  return {
    async token(claims = {}, header = {}, jwk = edge.jwks.privateJwk) {
      let key = keys.get(jwk);
      if (!key) keys.set(jwk, (key = await importJWK(jwk, "RS256")));
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: "https://accounts.google.com", aud: GOOGLE_AUDIENCE, email: GOOGLE_PUSH_ACCOUNT, email_verified: true, iat: now, exp: now + 3600, sub: "1", ...claims })
        .setProtectedHeader({ alg: "RS256", kid: jwk.kid, typ: "JWT", ...header })
        .sign(key);
    },
  };
}

function pushBody(data: unknown, messageId = fresh("pubsub")): string {
  const encoded = typeof data === "string" ? data : Buffer.from(JSON.stringify(data)).toString("base64");
  return JSON.stringify({ message: { data: encoded, messageId, publishTime: new Date().toISOString() }, subscription: "projects/fuzz/subscriptions/gmail" });
}

let historyId = 1_000_000;
const imapSig = (body: string | Buffer, t = Math.floor(Date.now() / 1000), secret = IMAP_SECRET) => `t=${t},v1=${createHmac("sha256", secret).update(`${t}.`).update(body).digest("hex")}`;
let uid = 1;
const imapBody = (uids = [uid++], extra: Record<string, unknown> = {}) => JSON.stringify({ providerId: IMAP_PROVIDER, mailbox: "INBOX", uidValidity: "1700000000", uids, ...extra });

function rawRequest(method: string, path: string, headers: Record<string, string>, body: Buffer | string = ""): Buffer {
  const head = [`${method} ${path} HTTP/1.1`, "Host: inlet.fuzz", "Connection: close", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join("\r\n");
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`), Buffer.from(body)]);
}

// ---- mutation classes ----
type Maker = (rng: Rng, sign: Signer) => Promise<Spec> | Spec;

const never = (status?: number[]): Expect => ({ enqueue: "never", redis: "none", ...(status ? { status } : {}) });

export const CONTROL: Maker[] = [
  async (_r, s) => ({ kind: "control:google", path: "/webhooks/google", headers: { ...json, authorization: `Bearer ${await s.token()}` }, body: pushBody({ emailAddress: MAILBOX, historyId: String(++historyId) }), expect: { enqueue: 1, redis: "any", status: [202] } }),
  () => {
    const body = imapBody([uid++, uid++]);
    return { kind: "control:imap", path: "/webhooks/imap", headers: { ...json, "x-inlet-signature": imapSig(body) }, body, expect: { enqueue: 2, redis: "any", status: [202] } };
  },
  () => ({ kind: "control:graph", path: "/webhooks/microsoft", headers: json, body: JSON.stringify({ value: SUBSCRIPTIONS.map((s) => graphItem(s)) }), expect: { enqueue: SUBSCRIPTIONS.length, redis: "any", status: [202] } }),
  () => ({ kind: "control:lifecycle", path: "/webhooks/microsoft/lifecycle", headers: json, body: JSON.stringify({ value: [{ subscriptionId: SUBSCRIPTIONS[1]!.id, clientState: SUBSCRIPTIONS[1]!.clientState, lifecycleEvent: "missed", subscriptionExpirationDateTime: fresh("exp").slice(0, 60) }] }), expect: { enqueue: 1, redis: "any", status: [202] } }),
];

const GOOD_BODY: ((s: Signer) => Promise<{ path: string; headers: Record<string, string>; body: string }>)[] = [
  async (s) => ({ path: "/webhooks/google", headers: { authorization: `Bearer ${await s.token()}` }, body: pushBody({ emailAddress: MAILBOX, historyId: String(++historyId) }) }),
  async () => ({ path: "/webhooks/microsoft", headers: {}, body: JSON.stringify({ value: [graphItem()] }) }),
  async () => {
    const body = imapBody();
    return { path: "/webhooks/imap", headers: { "x-inlet-signature": imapSig(body) }, body };
  },
];

const signerKid = (s: Signer) => (s as Signer & { publicJwk?: JWK }).publicJwk?.kid;

function jwtPart(value: unknown) {
  return b64url(JSON.stringify(value));
}

const MAKERS: Record<string, Maker> = {
  // headers
  "header:content-type": async (r, s) => {
    const good = await r.pick(GOOD_BODY)(s);
    const type = r.pick(["", "text/plain", "application/jsonx", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "*/*", "application/json; charset=utf-8"]);
    return { kind: "header:content-type", path: good.path, headers: { ...good.headers, ...(type ? { "content-type": type } : {}) }, body: good.body, expect: type.startsWith("application/json;") ? { enqueue: "may", redis: "any" } : never([415, 401]) };
  },
  "header:gzip": async (r, s) => {
    const good = await r.pick(GOOD_BODY)(s);
    const body = gzipSync(good.body);
    const headers: Record<string, string> = { ...good.headers, ...json, "content-encoding": r.pick(["gzip", "deflate", "br", "gzip, identity"]) };
    if (good.path.endsWith("imap")) headers["x-inlet-signature"] = imapSig(body);
    return { kind: "header:gzip", path: good.path, headers, body, expect: never([415]) };
  },
  "header:duplicate-authorization": async (_r, s) => ({ kind: "header:duplicate-authorization", path: "/webhooks/google", headers: { ...json, authorization: [`Bearer ${await s.token()}`, `Bearer ${await s.token()}`] }, body: pushBody({ emailAddress: MAILBOX, historyId: String(++historyId) }), expect: never([401]) }),
  "header:huge-authorization": (r) => ({ kind: "header:huge-authorization", ...r.pick([{ path: "/webhooks/google" }, { path: "/stats", method: "GET" }]), headers: { ...json, authorization: `Bearer ${"A".repeat(r.pick([5000, 16_000, 60_000]))}` }, body: "{}", expect: never([401]), protocol: true }),
  "header:lying-content-length-short": async (r, s) => {
    const good = await r.pick(GOOD_BODY)(s);
    const body = Buffer.from(good.body);
    return { kind: "header:lying-content-length-short", path: good.path, raw: { bytes: rawRequest("POST", good.path, { ...good.headers, ...json, "Content-Length": String(Math.max(1, body.length - 1 - r.int(body.length - 1))) }, body) }, expect: never(), protocol: true };
  },
  "header:lying-content-length-long": async (r, s) => {
    const good = await r.pick(GOOD_BODY)(s);
    const body = Buffer.from(good.body);
    return { kind: "header:lying-content-length-long", path: good.path, raw: { bytes: rawRequest("POST", good.path, { ...good.headers, ...json, "Content-Length": String(body.length + 1 + r.int(5000)) }, body), halfClose: true }, expect: never(), protocol: true };
  },
  "header:bad-content-length": (r) => ({ kind: "header:bad-content-length", path: "/webhooks/microsoft", raw: { bytes: rawRequest("POST", "/webhooks/microsoft", { ...json, "Content-Length": r.pick(["-1", "abc", "1e3", "99999999999999999999", "5, 6"]) }, "{}") }, expect: never(), protocol: true }),
  "header:chunked": async (r, s) => {
    const good = await r.pick(GOOD_BODY)(s);
    const body = Buffer.from(good.body);
    const cut = 1 + r.int(body.length - 1);
    const chunks = [body.subarray(0, cut), body.subarray(cut)].filter((c) => c.length > 0);
    const encoded = Buffer.concat([...chunks.flatMap((c) => [Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from("\r\n")]), Buffer.from("0\r\n\r\n")]);
    return { kind: "header:chunked", path: good.path, raw: { bytes: rawRequest("POST", good.path, { ...good.headers, ...json, "Transfer-Encoding": "chunked" }, encoded) }, expect: { enqueue: "may", redis: "any", status: [202, 204] } };
  },
  "header:malformed-chunk": (r) => ({ kind: "header:malformed-chunk", path: "/webhooks/microsoft", raw: { bytes: rawRequest("POST", "/webhooks/microsoft", { ...json, "Transfer-Encoding": "chunked" }, r.pick(["zz\r\n{}\r\n0\r\n\r\n", "5\r\n{}\r\n0\r\n\r\n", "-1\r\n\r\n", "ffffffffffffffffff\r\n"])), halfClose: true }, expect: never(), protocol: true }),
  "http:method": (r) => {
    const method = r.pick(["OPTIONS", "PUT", "DELETE", "PATCH", "FOO", "TRACE", "GET", "HEAD"]);
    const path = r.pick(["/webhooks/microsoft", "/webhooks/google", "/webhooks/imap", "/webhooks/microsoft/lifecycle", "/stats", "/"]);
    return { kind: "http:method", method, path, raw: r.next() < 0.3 ? { bytes: rawRequest(method, r.pick(["*", path]), {}) } : undefined, expect: never(), protocol: true };
  },
  "http:path": (r) => ({ kind: "http:path", method: r.pick(["GET", "POST"]), path: r.pick(["/webhooks", "/webhooks/", "/webhooks/microsoftx", "/webhooks/google/../imap", "/%2e%2e/stats", "/webhooks/imap?x=1", `/${"a".repeat(2000)}`, "/webhooks/microsoft/lifecycle/x"]), headers: json, body: "{}", expect: never() }),
  // bodies
  "body:truncated-json": async (r, s) => {
    const good = await r.pick(GOOD_BODY)(s);
    const body = good.body.slice(0, r.int(good.body.length));
    const headers: Record<string, string> = { ...good.headers, ...json };
    if (good.path.endsWith("imap")) headers["x-inlet-signature"] = imapSig(body);
    return { kind: "body:truncated-json", path: good.path, headers, body, expect: never([400]) };
  },
  "body:deep-nesting": (r) => {
    const depth = r.pick([100, 10_000, 200_000]);
    const body = r.next() < 0.5 ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `{"value":[${'{"a":'.repeat(depth)}1${"}".repeat(depth)}]}`;
    const path = r.pick(["/webhooks/microsoft", "/webhooks/microsoft/lifecycle", "/webhooks/imap"]);
    return { kind: "body:deep-nesting", path, headers: { ...json, ...(path.endsWith("imap") ? { "x-inlet-signature": imapSig(body) } : {}) }, body, expect: never([400, 413, 202]) };
  },
  "body:huge-array": (r) => {
    const n = r.pick([1001, 50_000, 200_000]);
    return { kind: "body:huge-array", path: "/webhooks/microsoft", headers: json, body: `{"value":[${Array(n).fill("1").join(",")}]}`, expect: never([400, 413]) };
  },
  "body:proto-keys": async (r, s) => {
    const good = await r.pick(GOOD_BODY)(s);
    const value = JSON.parse(good.body) as Record<string, unknown>;
    const poisoned = JSON.stringify(value).replace(/^\{/, '{"__proto__":{"polluted":true,"value":[]},"constructor":{"prototype":{"x":1}},');
    const headers: Record<string, string> = { ...good.headers, ...json };
    if (good.path.endsWith("imap")) headers["x-inlet-signature"] = imapSig(poisoned);
    return { kind: "body:proto-keys", path: good.path, headers, body: poisoned, expect: { enqueue: "may", redis: "any" } };
  },
  "body:wrong-types": async (r) => {
    const weird = r.pick<unknown>([null, 0, -1, 1e308, true, "", "x".repeat(300), [], {}, [1, 2], { id: 1 }]);
    const choice = r.int(3);
    if (choice === 0) {
      const field = r.pick(["subscriptionId", "clientState", "resource", "resourceData", "tenantId", "subscriptionExpirationDateTime"]);
      const item = graphItem(undefined, undefined, { [field]: weird });
      // A string where a string belongs may leave the item valid (a 300-char resource is a fine
      // resource); tenantId and subscriptionExpirationDateTime are not read for a change notification.
      const maybeValid = ["tenantId", "subscriptionExpirationDateTime"].includes(field) || (typeof weird === "string" && ["resource", "subscriptionId", "clientState"].includes(field));
      return { kind: "body:wrong-types", path: "/webhooks/microsoft", headers: json, body: JSON.stringify({ value: [item] }), expect: maybeValid ? { enqueue: field === "clientState" || field === "subscriptionId" ? "never" : "may", redis: "any" } : never([202, 400]) };
    }
    if (choice === 1) {
      const field = r.pick(["providerId", "mailbox", "uidValidity", "uids"]);
      const body = imapBody(undefined, { [field]: weird });
      // Values that happen to be valid: a 1-320 char mailbox, uids [1, 2], a 1-128 char provider id (unknown: 404).
      const str = typeof weird === "string" && weird.length > 0;
      const valid = (field === "mailbox" && str) || (field === "uids" && Array.isArray(weird) && weird.length > 0) || (field === "providerId" && str && (weird as string).length <= 128);
      return { kind: "body:wrong-types", path: "/webhooks/imap", headers: { ...json, "x-inlet-signature": imapSig(body) }, body, expect: valid ? { enqueue: field === "providerId" ? "never" : "may", redis: "any" } : never([400]) };
    }
    const body = JSON.stringify({ message: { data: r.pick<unknown>([weird, Buffer.from(JSON.stringify({ emailAddress: weird, historyId: "5" })).toString("base64"), Buffer.from(JSON.stringify({ emailAddress: MAILBOX, historyId: weird })).toString("base64")]), messageId: fresh("p") }, subscription: "s" });
    return { kind: "body:wrong-types", path: "/webhooks/google", headers: { ...json, authorization: "Bearer __TOKEN__" }, body, expect: { enqueue: "never", redis: typeof weird === "string" && weird === "" ? "none" : "any", status: [400, 204] } };
  },
  "body:2mb": (r) => {
    const path = r.pick(["/webhooks/microsoft", "/webhooks/microsoft/lifecycle", "/webhooks/imap", "/webhooks/google"]);
    const body = `{"value":[],"pad":"${"x".repeat(2 * 1024 * 1024)}"}`;
    return { kind: "body:2mb", large: true, path, headers: { ...json, ...(path.endsWith("imap") ? { "x-inlet-signature": imapSig(body) } : {}), ...(path.endsWith("google") ? { authorization: "Bearer __TOKEN__" } : {}) }, body, expect: never([413]) };
  },
  "body:lone-surrogate": () => {
    const items = [graphItem(undefined, "X\ud800"), graphItem(undefined, undefined, { resource: "Users/x/Messages/\udc00y" }), graphItem(undefined, undefined, { clientState: "a\ud800" })];
    return { kind: "body:lone-surrogate", path: "/webhooks/microsoft", headers: json, body: JSON.stringify({ value: items }), expect: never([202]) };
  },
  "body:invalid-utf8": (r) => ({ kind: "body:invalid-utf8", path: r.pick(["/webhooks/microsoft", "/webhooks/microsoft/lifecycle"]), headers: json, body: Buffer.concat([Buffer.from('{"value":[{"subscriptionId":"'), Buffer.from([0xff, 0xfe, 0xc0]), Buffer.from('"}]}')]), expect: never([400]) }),
  // JWT
  "jwt:forged": async (r, s) => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: "https://accounts.google.com", aud: GOOGLE_AUDIENCE, email: GOOGLE_PUSH_ACCOUNT, email_verified: true, iat: now, exp: now + 3600 };
    const variant = r.int(17);
    let token: string | undefined;
    const pub = s as Signer & { publicJwk?: JWK };
    switch (variant) {
      case 0: token = `${jwtPart({ alg: "none", typ: "JWT" })}.${jwtPart(claims)}.`; break;
      case 1: {
        const hs = `${jwtPart({ alg: "HS256", typ: "JWT" })}.${jwtPart(claims)}`;
        token = `${hs}.${createHmac("sha256", JSON.stringify(pub.publicJwk ?? {})).update(hs).digest("base64url")}`;
        break;
      }
      case 2: token = await s.token({}, { kid: "no-such-kid" }); break;
      case 3: token = await s.token({ iat: now - 7200, exp: now - 3600 }); break;
      case 4: token = await s.token({ nbf: now + 3600 }); break;
      case 5: token = await s.token({ iss: "https://evil.example" }); break;
      case 6: token = await s.token({ aud: "https://someone-else.example/push" }); break;
      case 7: token = await s.token({ email: "attacker@evil.iam.gserviceaccount.com" }); break;
      case 8: token = await s.token({ email_verified: false }); break;
      case 9: token = await s.token({ email_verified: "true" }); break;
      case 10: {
        const t = await s.token();
        token = `${t.slice(0, -6)}${t.slice(-6) === "AAAAAA" ? "BBBBBB" : "AAAAAA"}`;
        break;
      }
      case 11: token = await s.token({ iat: now + 3600, exp: now + 7200 }); break;
      case 12: token = await s.token({ iat: now - 10, exp: now + 86_400 }); break;
      case 13: token = r.pick(["", "x", "a.b.c", "....", "Bearer", "e30.e30.e30"]); break;
      case 14: token = undefined; break;
      case 15: token = await s.token({ email: undefined }); break;
      default: {
        const [, payload, signature] = (await s.token({ aud: [GOOGLE_AUDIENCE, "x"] })).split(".");
        token = `${jwtPart({ alg: "RS384", typ: "JWT", kid: signerKid(s) })}.${payload}.${signature}`;
      }
    }
    const headers: Record<string, string> = { ...json };
    if (token !== undefined) headers.authorization = r.next() < 0.9 ? `Bearer ${token}` : `bearer ${token}`;
    return { kind: "jwt:forged", path: "/webhooks/google", headers, body: pushBody({ emailAddress: MAILBOX, historyId: String(++historyId) }), expect: never([401]) };
  },
  // HMAC
  "hmac:forged": (r) => {
    const body = imapBody();
    const now = Math.floor(Date.now() / 1000);
    const variant = r.int(8);
    const signature = [
      imapSig(body, now, "wrong-secret"),
      imapSig(body, now - 330),
      imapSig(body, now + 330),
      imapSig(imapBody([999_999])),
      `t=${now},v1=${"0".repeat(63)}`,
      `v1=${"a".repeat(64)}`,
      `t=${now},v1=${"g".repeat(64)}`,
      `t=${now};v1=${"a".repeat(64)},t=${now}`,
    ][variant]!;
    return { kind: "hmac:forged", path: "/webhooks/imap", headers: { ...json, "x-inlet-signature": signature }, body, expect: never([401]) };
  },
  // Graph items
  "graph:wrong-client-state": (r) => ({ kind: "graph:wrong-client-state", path: r.pick(["/webhooks/microsoft", "/webhooks/microsoft/lifecycle"]), headers: json, body: JSON.stringify({ value: Array.from({ length: 1 + r.int(20) }, () => graphItem(r.pick(SUBSCRIPTIONS), undefined, { clientState: fresh("wrong"), lifecycleEvent: "missed" })) }), expect: { enqueue: "never", redis: "any", status: [202] } }),
  "graph:unknown-subscription": (r) => ({ kind: "graph:unknown-subscription", path: "/webhooks/microsoft", headers: json, body: JSON.stringify({ value: Array.from({ length: r.pick([1, 10, 1000]) }, () => graphItem({ id: fresh("sub"), clientState: fresh("cs") })) }), expect: { enqueue: "never", redis: "any", status: [202] } }),
  "graph:other-change-type": (r) => ({ kind: "graph:other-change-type", path: "/webhooks/microsoft", headers: json, body: JSON.stringify({ value: Array.from({ length: 1 + r.int(50) }, () => graphItem(r.pick(SUBSCRIPTIONS), undefined, { changeType: r.pick(["updated", "deleted", "Created", "created,updated", "", null]) })) }), expect: never([202]) }),
  "graph:1001-items": () => ({ kind: "graph:1001-items", path: "/webhooks/microsoft", headers: json, body: JSON.stringify({ value: Array.from({ length: 1001 }, () => graphItem()) }), expect: never([400]) }),
  "graph:no-client-state": (r) => ({ kind: "graph:no-client-state", path: r.pick(["/webhooks/microsoft", "/webhooks/microsoft/lifecycle"]), headers: json, body: JSON.stringify({ value: Array.from({ length: 1 + r.int(1000) }, () => graphItem({ id: fresh("sub"), clientState: "" }, undefined, { clientState: r.pick([undefined, null, "", 5]) })) }), expect: never([202]) }),
  "graph:mixed": (r) => {
    const valid = 1 + r.int(5);
    const value = [...Array.from({ length: valid }, () => graphItem(r.pick(SUBSCRIPTIONS))), ...Array.from({ length: 1 + r.int(20) }, () => r.pick<unknown>([graphItem(r.pick(SUBSCRIPTIONS), undefined, { clientState: "wrong" }), graphItem(undefined, undefined, { changeType: "updated" }), { subscriptionId: 5 }, 7, graphItem(undefined, undefined, { resource: "r".repeat(1500) })]))];
    return { kind: "graph:mixed", path: "/webhooks/microsoft", headers: json, body: JSON.stringify({ value }), expect: { enqueue: valid, redis: "any", status: [202] } };
  },
  "graph:handshake": (r) => {
    const token = r.pick(["<script>alert(1)</script>", "plain", "%00", "a".repeat(5000), "🙂", ""]);
    return { kind: "graph:handshake", method: r.pick(["POST", "GET", "PUT"]), path: `${r.pick(["/webhooks/microsoft", "/webhooks/microsoft/lifecycle"])}?validationToken=${encodeURIComponent(token)}`, expect: never([200]) };
  },
  // Google data
  "google:data": async (r, s) => {
    const data = r.pick<unknown>([
      "%%%",
      Buffer.from("hello").toString("base64"),
      { emailAddress: MAILBOX },
      { emailAddress: MAILBOX, historyId: "18446744073709551616" },
      { emailAddress: MAILBOX, historyId: "-5" },
      { emailAddress: MAILBOX, historyId: 2 ** 60 },
      { emailAddress: "nobody@else.example", historyId: String(++historyId) },
      { emailAddress: "x\ud800@fuzz.example", historyId: "5" },
    ]);
    const unknown = typeof data === "object" && data !== null && (data as { emailAddress?: string }).emailAddress === "nobody@else.example";
    return { kind: "google:data", path: "/webhooks/google", headers: { ...json, authorization: `Bearer ${await s.token()}` }, body: pushBody(data), expect: unknown ? { enqueue: "never", redis: "any", status: [204] } : never([400]) };
  },
  "google:leading-zeros": async (_r, s) => ({ kind: "google:leading-zeros", path: "/webhooks/google", headers: { ...json, authorization: `Bearer ${await s.token()}` }, body: pushBody({ emailAddress: MAILBOX, historyId: `000000${++historyId}` }), expect: { enqueue: "may", redis: "any", status: [202] } }),
  // IMAP bodies, correctly signed
  "imap:body": (r) => {
    const body = r.pick([imapBody([]), imapBody([0]), imapBody([2 ** 32]), imapBody(Array.from({ length: 1001 }, (_, i) => i + 1)), imapBody(undefined, { uidValidity: "0" }), imapBody(undefined, { uidValidity: "4294967296" }), imapBody(undefined, { mailbox: "IN\ud800" }), imapBody(undefined, { extra: "content" })]);
    return { kind: "imap:body", path: "/webhooks/imap", headers: { ...json, "x-inlet-signature": imapSig(body) }, body, expect: never([400]) };
  },
  "stats:auth": (r) => ({ kind: "stats:auth", method: "GET", path: "/stats", headers: (r.next() < 0.5 ? { authorization: `Bearer ${r.pick(["x", ADMIN_TOKEN.slice(0, -1), ""])}` } : {}) as Record<string, string>, expect: never([401]) }),
};

/** Heavy classes are drawn rarely: a 50 MB body is sent `bigBodies` times in all. */
const WEIGHTS: Record<string, number> = { "body:2mb": 0.2, "body:deep-nesting": 0.5, "body:huge-array": 0.5, "graph:1001-items": 0.3, "graph:no-client-state": 0.5, "graph:unknown-subscription": 0.5 };

// ---- sending ----
// One connection per request (`Connection: close`, workerd closes first): when the Worker answers
// without reading a body, workerd serve parses the unread bytes as the next request on a kept-alive
// connection, which would pin one request's leftovers on the next.

function send(base: string, spec: Spec): Promise<Answer> {
  const started = performance.now();
  const url = new URL(spec.path, base);
  if (spec.raw) return sendRaw(url, spec.raw, started);
  if (spec.stream) return sendStream(url, spec, started);
  if (spec.body !== undefined && spec.body.length > BIG) return sendBig(url, spec, started);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: spec.method ?? "POST", headers: { ...spec.headers, connection: "close" }, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.length < 64 && chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])), body: Buffer.concat(chunks).toString("utf8").slice(0, 4000), ms: performance.now() - started }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    {
      req.end(spec.body);
    }
  });
}

/** Bodies above this go out on a raw socket, piece by piece, until the server answers. */
const BIG = 256 * 1024;

function sendBig(url: URL, spec: Spec, started: number): Promise<Answer> {
  const body = Buffer.from(spec.body!);
  const head = Object.entries(spec.headers ?? {}).map(([k, v]) => `${k}: ${String(v)}`);
  const bytes = Buffer.from([`${spec.method ?? "POST"} ${url.pathname}${url.search} HTTP/1.1`, "Host: inlet.fuzz", "Connection: close", `Content-Length: ${body.length}`, ...head, "", ""].join("\r\n"));
  const pieces: Buffer[] = [];
  for (let at = 0; at < body.length; at += 64 * 1024) pieces.push(body.subarray(at, at + 64 * 1024));
  return sendRaw(url, { bytes, pieces }, started);
}

/** A chunked body of `total` bytes, written until the server answers (then the rest is dropped). */
function sendStream(url: URL, spec: Spec, started: number): Promise<Answer> {
  const head = Object.entries(spec.headers ?? {}).map(([k, v]) => `${k}: ${String(v)}`);
  const bytes = Buffer.from([`POST ${url.pathname} HTTP/1.1`, "Host: inlet.fuzz", "Connection: close", ...head, "", ""].join("\r\n"));
  const chunk = Buffer.concat([Buffer.from(`${spec.stream!.chunk.toString(16)}\r\n`), Buffer.alloc(spec.stream!.chunk, 0x20), Buffer.from("\r\n")]);
  const pieces = Array<Buffer>(Math.ceil(spec.stream!.total / spec.stream!.chunk)).fill(chunk);
  pieces.push(Buffer.from("0\r\n\r\n"));
  return sendRaw(url, { bytes, pieces }, started);
}

function sendRaw(url: URL, raw: { bytes: Buffer; halfClose?: boolean; pieces?: Buffer[] }, started: number): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const [head = "", body = ""] = text.split("\r\n\r\n", 2);
      const headers = Object.fromEntries(head.split("\r\n").slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      resolve({ status, headers, body: body.slice(0, 4000), ms: performance.now() - started });
    };
    socket.setTimeout(3000, finish);
    // A server that answered and closed while we were still writing: keep what it said.
    socket.on("error", () => undefined);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("end", finish);
    socket.on("close", finish);
    socket.write(raw.bytes, () => raw.halfClose && socket.end());
    if (raw.pieces) {
      let next = 0;
      const pump = () => {
        while (!done && chunks.length === 0 && next < raw.pieces!.length) {
          if (!socket.write(raw.pieces![next++]!)) return void socket.once("drain", pump);
        }
      };
      pump();
    }
  });
}

function isWorkerError(body: string): boolean {
  try {
    const v = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    return typeof v.error?.code === "string" && typeof v.error.message === "string";
  } catch {
    return false;
  }
}

const ALLOWED_503 = /^(store_unavailable|store_not_configured|not_configured|[a-z]+_not_configured)$/;

export interface FuzzOptions {
  requests: number;
  seed?: number;
  /** 50 MB chunked bodies to send (spread through the run). */
  bigBodies?: number;
  progress?: (done: number) => void;
}

export async function runFuzz(edge: Edge, options: FuzzOptions): Promise<FuzzReport> {
  await seedRegistry(edge);
  const rng = prng(options.seed ?? 20261201);
  const sign = await signer(edge);
  (sign as Signer & { publicJwk?: JWK }).publicJwk = { kty: "RSA", n: edge.jwks.privateJwk.n, e: edge.jwks.privateJwk.e, kid: edge.jwks.privateJwk.kid };
  const googleToken = await sign.token();
  const classes = Object.keys(MAKERS);
  const weighted = classes.flatMap((k) => Array(Math.round((WEIGHTS[k] ?? 1) * 10)).fill(k) as string[]);
  const bigBodies = options.bigBodies ?? 10;
  const bigEvery = Math.max(1, Math.floor(options.requests / (bigBodies + 1)));
  const LIMIT = 1024 * 1024;

  const report: FuzzReport = {
    requests: 0,
    controls: 0,
    durationMs: 0,
    byKind: {},
    httpLayer: {},
    violationCount: 0,
    violations: [],
    maxMs: 0,
    p99Ms: 0,
    redisCalls: { refusedAlone: 0, total: 0 },
    bigBody: { sent: 0, maxRssGrowthBytes: 0, limitBytes: LIMIT },
    enqueued: 0,
    workerdRssBytes: { start: edge.workerd.rssBytes(), end: 0, every10k: [] },
  };
  const latencies: number[] = [];
  const started = performance.now();
  // Jobs ready to claim: the arrivals list and every tenant's lane (the edge writes the lanes).
  const readyCount = async () => {
    let n = await edge.redis.llen(edge.keys.ready);
    for (const lane of await edge.redis.keys(`${edge.keys.lanes}*`)) n += await edge.redis.llen(lane);
    return n;
  };
  let ready = await readyCount();
  let redis = (await edge.redisCommands()).calls;
  // Round-robin through the classes first so a short run still covers every one of them.
  let roundRobin = 0;

  for (let i = 1; i <= options.requests; i++) {
    let spec: Spec;
    if (i % 500 === 0) {
      spec = await CONTROL[(i / 500) % CONTROL.length]!(rng, sign);
      report.controls++;
    } else if ((i + 7) % bigEvery === 0 && report.bigBody.sent < bigBodies) {
      const path = rng.pick(["/webhooks/microsoft", "/webhooks/imap", "/webhooks/microsoft/lifecycle", "/webhooks/google"]);
      const headers: Record<string, string> = { ...json, "transfer-encoding": "chunked" };
      if (path.endsWith("imap")) headers["x-inlet-signature"] = imapSig("x");
      if (path.endsWith("google")) headers.authorization = `Bearer ${googleToken}`;
      spec = { kind: "body:50mb-chunked", path, headers, stream: { total: 50 * 1024 * 1024, chunk: 64 * 1024 }, expect: never([413, 401]), large: true };
    } else {
      const kind = roundRobin < classes.length ? classes[roundRobin++]! : rng.pick(weighted);
      spec = await MAKERS[kind]!(rng, sign);
    }
    if (spec.headers?.authorization === "Bearer __TOKEN__") spec.headers.authorization = `Bearer ${googleToken}`;

    const rssBefore = spec.stream ? edge.workerd.rssBytes() : 0;
    let peak = rssBefore;
    const sampler = spec.stream ? setInterval(() => (peak = Math.max(peak, edge.workerd.rssBytes())), 2) : undefined;
    let answer: Answer;
    try {
      answer = await send(edge.url, spec);
    } catch (error) {
      answer = { status: 0, headers: {}, body: error instanceof Error ? error.message : String(error), ms: 0 };
    }
    if (sampler) {
      clearInterval(sampler);
      peak = Math.max(peak, edge.workerd.rssBytes());
      report.bigBody.sent++;
      report.bigBody.maxRssGrowthBytes = Math.max(report.bigBody.maxRssGrowthBytes, peak - rssBefore);
    }
    const nowReady = await readyCount();
    const nowRedis = (await edge.redisCommands()).calls;
    const enqueued = nowReady - ready;
    const calls = nowRedis - redis;
    ready = nowReady;
    redis = nowRedis;
    report.requests++;
    report.enqueued += enqueued;
    report.redisCalls.total += calls;
    latencies.push(answer.ms);
    report.maxMs = Math.max(report.maxMs, answer.ms);

    const fromWorker = answer.status === 200 || answer.status === 202 || answer.status === 204 || isWorkerError(answer.body);
    const reset = (spec.large || (spec.body?.length ?? 0) > BIG) && answer.status === 0;
    const tally = (fromWorker || !spec.protocol) && !reset ? (report.byKind[spec.kind] ??= { count: 0, statuses: {} }) : undefined;
    if (tally) {
      tally.count++;
      tally.statuses[answer.status] = (tally.statuses[answer.status] ?? 0) + 1;
    } else {
      const layer = (report.httpLayer[spec.kind] ??= {});
      layer[answer.status] = (layer[answer.status] ?? 0) + 1;
    }
    const problem = (text: string) => {
      report.violationCount++;
      if (report.violations.length < 200) report.violations.push({ kind: spec.kind, problem: text, status: answer.status, body: answer.body.slice(0, 300) });
    };

    const checked = (fromWorker || !spec.protocol) && !reset;
    if (checked && answer.status >= 500 && !(answer.status === 503 && ALLOWED_503.test((JSON.parse(answer.body || "{}") as { error?: { code?: string } }).error?.code ?? ""))) problem("5xx");
    if (answer.status >= 400 && answer.status < 500 && !isWorkerError(answer.body) && !spec.protocol) problem("4xx without {error:{code,message}}");
    if (answer.status === 0 && !spec.protocol && !reset) problem(`no answer (${answer.body})`);
    if (spec.expect.enqueue === "never" && enqueued !== 0) problem(`enqueued ${enqueued} pointers`);
    if (typeof spec.expect.enqueue === "number" && enqueued !== spec.expect.enqueue) problem(`control enqueued ${enqueued}, expected ${spec.expect.enqueue}`);
    if (spec.expect.redis === "none" && calls > 0) problem(`${calls} Redis calls for a request the edge can refuse alone`);
    if (spec.expect.redis === "none") report.redisCalls.refusedAlone += calls;
    if (calls > 1) problem(`${calls} Redis calls in one request`);
    if (fromWorker && spec.expect.status && !spec.expect.status.includes(answer.status)) problem(`status ${answer.status}, expected ${spec.expect.status.join("|")}`);
    if (answer.ms > 2000) problem(`took ${answer.ms.toFixed(0)} ms`);
    if (spec.kind === "graph:handshake" && answer.status === 200 && (answer.headers["x-content-type-options"] !== "nosniff" || !answer.headers["content-type"]?.startsWith("text/plain"))) problem("handshake without text/plain + nosniff");
    if (spec.kind === "body:50mb-chunked" && report.bigBody.maxRssGrowthBytes > 16 * LIMIT) problem(`workerd grew by ${(report.bigBody.maxRssGrowthBytes / 1e6).toFixed(1)} MB on a 50 MB body`);
    if (i % 1000 === 0) options.progress?.(i);
    if (i % 10_000 === 0) report.workerdRssBytes.every10k.push(edge.workerd.rssBytes());
  }
  report.durationMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  report.p99Ms = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
  report.workerdRssBytes.end = edge.workerd.rssBytes();
  return report;
}

export function fuzzMarkdown(report: FuzzReport, context: { machine: string; command: string; build: { bytes: number; gzipBytes: number } }): string {
  const rows = Object.entries(report.byKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, t]) => `| ${kind} | ${t.count} | ${Object.entries(t.statuses).map(([s, n]) => `${s}×${n}`).join(" ")} |`);
  const layer = Object.entries(report.httpLayer).map(([kind, s]) => `| ${kind} | ${Object.entries(s).map(([st, n]) => `${st === "0" ? "closed" : st}×${n}`).join(" ")} |`);
  return [
    "# Ingress fuzzing",
    "",
    `\`${context.command}\` — ${report.requests.toLocaleString("en")} requests (${report.controls} genuine controls) against the built Worker in plain \`workerd serve\`, one at a time, in ${(report.durationMs / 1000).toFixed(0)} s.`,
    `Machine: ${context.machine}.`,
    "",
    `**Violations: ${report.violationCount}.** Enqueued by all requests: ${report.enqueued} pointers (controls and the valid items of mixed batches only). Redis script calls: ${report.redisCalls.total} in all, ${report.redisCalls.refusedAlone} for requests the edge can refuse alone. Slowest request ${report.maxMs.toFixed(0)} ms, p99 ${report.p99Ms.toFixed(1)} ms. 50 MB chunked bodies: ${report.bigBody.sent}, largest workerd RSS growth during one ${(report.bigBody.maxRssGrowthBytes / 1e6).toFixed(1)} MB (route limit ${(report.bigBody.limitBytes / 1e6).toFixed(1)} MB). workerd RSS ${(report.workerdRssBytes.start / 1e6).toFixed(0)} MB at start, ${(report.workerdRssBytes.end / 1e6).toFixed(0)} MB at the end${report.workerdRssBytes.every10k.length ? ` (every 10,000 requests: ${report.workerdRssBytes.every10k.map((b) => (b / 1e6).toFixed(0)).join(", ")} MB)` : ""}; workerd serve grows alike under nothing but \`GET /healthz\` (60 → 263 MB over 40,000 requests on this machine), so that growth is the runtime's, not the Worker's.`,
    "",
    "Invariants: no 5xx except a 503 naming the store or an unconfigured route; every 4xx carries `{error:{code,message}}`; an invalid request enqueues nothing; a request the edge can refuse alone costs no Redis call; at most one Redis call per request; no request over 2 s; a 50 MB body never raises workerd's memory by more than 16× the route limit; the Graph handshake answers text/plain with nosniff; every 500th request is a genuine control that must be accepted.",
    "",
    "## Answers from the Worker, by mutation class",
    "",
    "| class | requests | statuses |",
    "|---|---:|---|",
    ...rows,
    "",
    "## Answers from workerd's HTTP layer (never reached the Worker)",
    "",
    "| class | statuses |",
    "|---|---|",
    ...(layer.length ? layer : ["| (none) | |"]),
    "",
    ...(report.violations.length ? ["## Violations", "", ...report.violations.slice(0, 50).map((v) => `- ${v.kind}: ${v.problem} (status ${v.status}) \`${v.body.replace(/`/g, "'").slice(0, 160)}\``)] : []),
    "",
  ].join("\n");
}
