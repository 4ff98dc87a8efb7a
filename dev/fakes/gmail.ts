// A local Gmail API + Google's OAuth server (dev/fakes/google-oauth.ts: the authorization
// endpoint, the token endpoint's grants, introspection for IMAP), speaking the documented wire format:
//   GET  /gmail/v1/users/{u}/history?startHistoryId=…&historyTypes=messageAdded&labelId=INBOX&pageToken=…
//   GET  /gmail/v1/users/{u}/messages/{id}?format=raw         {id, threadId, labelIds, raw (base64url), historyId}
//   GET  /gmail/v1/users/{u}/messages?labelIds=INBOX&maxResults=…&pageToken=…
//   GET  /gmail/v1/users/{u}/profile                          {emailAddress, messagesTotal, threadsTotal, historyId}
//   POST /gmail/v1/users/{u}/watch, /stop
// History ids grow but are not contiguous; a startHistoryId older than what is kept answers 404.
import { randomUUID } from "node:crypto";
import { Faults, startFakeServer, type FakeResponse } from "./http-server.ts";
import { createGoogleOAuth, type FakeGoogleClient, type GoogleOAuthFake } from "./google-oauth.ts";

export type { FakeGoogleClient as FakeGmailClient, ServiceAccountKeyFile } from "./google-oauth.ts";

/** Gmail's answer when a per-user rate limit is hit: a 403, not a 429 (use as a fault's body). */
export const gmailRateLimitBody = {
  error: { code: 403, message: "User-rate limit exceeded.", errors: [{ message: "User-rate limit exceeded.", domain: "usageLimits", reason: "userRateLimitExceeded" }], status: "PERMISSION_DENIED" },
};

interface StoredMessage {
  id: string;
  threadId: string;
  labelIds: string[];
  raw: Uint8Array;
  historyId: number;
}

interface Mailbox {
  messages: Map<string, StoredMessage>;
  history: { id: number; messageIds: string[] }[];
  historyId: number;
  /** History before this id is no longer kept: asking for it is a 404. */
  oldestHistoryId: number;
  watch?: { topicName: string; expiration: number };
}

export interface FakeGmail {
  url: string;
  gmailBaseUrl: string;
  tokenUrl: string;
  authorizationUrl: string;
  /** Where Dovecot's oauth2 passdb asks whether a token may log in to IMAP. */
  imapIntrospectionUrl: string;
  /** The OAuth server: sign-in and consent, grants, service accounts, introspection log. */
  oauth: GoogleOAuthFake;
  /** Keys: "token", "history", "list", "profile", `message:${id}`. */
  faults: Faults;
  /** History records per page (small, so paging is exercised). */
  pageSize: number;
  /** Lifetime of the access tokens it issues, in seconds (Google's: 3599). */
  tokenExpiresIn: number;
  tokenRequests(): number;
  /** Refuse every access token issued so far (the refresh token still works). */
  revokeTokens(): void;
  addClient(client: FakeGoogleClient): void;
  /** Add a message with labels (default INBOX); returns its id and the mailbox's new historyId. */
  addMessage(user: string, raw: Uint8Array | string, labelIds?: string[]): { id: string; historyId: string };
  /** Several messages added in one history record. */
  addMessages(user: string, items: { raw: Uint8Array | string; labelIds?: string[] }[]): { ids: string[]; historyId: string };
  deleteMessage(user: string, id: string): void;
  historyId(user: string): string;
  /** Forget history older than the current point (what Gmail does after about a week). */
  expireHistory(user: string): void;
  watch(user: string): { topicName: string; expiration: number } | undefined;
  close(): Promise<void>;
}

export async function startFakeGmail(port = 0): Promise<FakeGmail> {
  const boxes = new Map<string, Mailbox>();
  const faults = new Faults();
  let nextHistory = 1000;
  const state = { pageSize: 100 };
  const oauth = createGoogleOAuth(() => server.url, faults);

  const box = (user: string): Mailbox => {
    const key = decodeURIComponent(user).toLowerCase();
    let b = boxes.get(key);
    if (!b) {
      nextHistory += 7;
      b = { messages: new Map(), history: [], historyId: nextHistory, oldestHistoryId: 0 };
      boxes.set(key, b);
    }
    return b;
  };
  const error = (status: number, message: string, reason = "failedPrecondition"): FakeResponse => ({ status, body: { error: { code: status, message, errors: [{ message, domain: "global", reason }], status: status === 404 ? "NOT_FOUND" : "FAILED_PRECONDITION" } } });
  /** The mailbox a path names: `me` is the token's own user. */
  const who = (req: Parameters<GoogleOAuthFake["check"]>[0], user: string): string => {
    if (decodeURIComponent(user).toLowerCase() !== "me") return user;
    const check = oauth.check(req, user);
    return check.ok && check.token.user ? check.token.user : user;
  };
  /** The answer for a request whose token may not read `user`'s mail, or undefined when it may. */
  const refused = (req: Parameters<GoogleOAuthFake["check"]>[0], user: string): FakeResponse | undefined => {
    const check = oauth.check(req, user);
    if (check.ok) return undefined;
    if (check.status === 401) return { status: 401, body: { error: { code: 401, message: "Request had invalid authentication credentials.", status: "UNAUTHENTICATED" } } };
    return { status: 403, body: { error: { code: 403, message: `Delegation denied for ${decodeURIComponent(user)}`, errors: [{ message: "Delegation denied", domain: "global", reason: "forbidden" }], status: "PERMISSION_DENIED" } } };
  };

  const add = (user: string, items: { raw: Uint8Array | string; labelIds?: string[] }[]) => {
    const b = box(user);
    nextHistory += 3 + Math.floor(Math.random() * 5); // ids grow, with gaps
    const ids = items.map(({ raw, labelIds }) => {
      const id = randomUUID().replace(/-/g, "").slice(0, 16);
      b.messages.set(id, { id, threadId: id, labelIds: labelIds ?? ["INBOX", "UNREAD"], raw: typeof raw === "string" ? new TextEncoder().encode(raw) : raw, historyId: nextHistory });
      return id;
    });
    b.history.push({ id: nextHistory, messageIds: ids });
    b.historyId = nextHistory;
    return { ids, historyId: String(nextHistory) };
  };

  const server = await startFakeServer([
    ...oauth.routes,
    [
      "GET",
      /^\/gmail\/v1\/users\/([^/]+)\/history$/,
      async (req, m) => {
        const denied = refused(req, m[1]!);
        if (denied) return denied;
        const fault = await faults.apply("history");
        if (fault) return fault;
        const b = box(who(req, m[1]!));
        const start = Number(req.url.searchParams.get("startHistoryId"));
        if (!Number.isFinite(start) || start < b.oldestHistoryId) return error(404, "Requested entity was not found.", "notFound");
        const label = req.url.searchParams.get("labelId");
        const records = b.history
          .filter((h) => h.id > start)
          .map((h) => ({ id: String(h.id), messages: h.messageIds.map((id) => ({ id, threadId: id })), messagesAdded: h.messageIds.map((id) => b.messages.get(id)).filter((msg): msg is StoredMessage => !!msg && (!label || msg.labelIds.includes(label))).map((msg) => ({ message: { id: msg.id, threadId: msg.threadId, labelIds: msg.labelIds } })) }));
        const offset = Number(req.url.searchParams.get("pageToken") ?? 0);
        const page = records.slice(offset, offset + state.pageSize);
        const next = offset + state.pageSize < records.length ? String(offset + state.pageSize) : undefined;
        return { status: 200, body: { ...(page.length ? { history: page } : {}), historyId: String(b.historyId), ...(next ? { nextPageToken: next } : {}) } };
      },
    ],
    [
      "GET",
      /^\/gmail\/v1\/users\/([^/]+)\/messages\/([^/]+)$/,
      async (req, m) => {
        const denied = refused(req, m[1]!);
        if (denied) return denied;
        const id = decodeURIComponent(m[2]!);
        const fault = await faults.apply(`message:${id}`);
        if (fault) return fault;
        const msg = box(who(req, m[1]!)).messages.get(id);
        if (!msg) return error(404, "Requested entity was not found.", "notFound");
        const stall = faults.stall(`message:${id}`);
        return { status: 200, ...(stall ? { stallBodyMs: stall } : {}), body: { id: msg.id, threadId: msg.threadId, labelIds: msg.labelIds, snippet: "", sizeEstimate: msg.raw.byteLength, historyId: String(msg.historyId), internalDate: String(Date.now()), raw: Buffer.from(msg.raw).toString("base64url") } };
      },
    ],
    [
      "GET",
      /^\/gmail\/v1\/users\/([^/]+)\/messages$/,
      async (req, m) => {
        const denied = refused(req, m[1]!);
        if (denied) return denied;
        const fault = await faults.apply("list");
        if (fault) return fault;
        const label = req.url.searchParams.get("labelIds");
        const all = [...box(who(req, m[1]!)).messages.values()].filter((msg) => !label || msg.labelIds.includes(label)).reverse();
        const max = Number(req.url.searchParams.get("maxResults") ?? 100);
        const offset = Number(req.url.searchParams.get("pageToken") ?? 0);
        const page = all.slice(offset, offset + max);
        return { status: 200, body: { messages: page.map((msg) => ({ id: msg.id, threadId: msg.threadId })), resultSizeEstimate: all.length, ...(offset + max < all.length ? { nextPageToken: String(offset + max) } : {}) } };
      },
    ],
    [
      "GET",
      /^\/gmail\/v1\/users\/([^/]+)\/profile$/,
      async (req, m) => {
        const denied = refused(req, m[1]!);
        if (denied) return denied;
        const fault = await faults.apply("profile");
        if (fault) return fault;
        const b = box(who(req, m[1]!));
        return { status: 200, body: { emailAddress: decodeURIComponent(who(req, m[1]!)), messagesTotal: b.messages.size, threadsTotal: b.messages.size, historyId: String(b.historyId) } };
      },
    ],
    [
      "POST",
      /^\/gmail\/v1\/users\/([^/]+)\/watch$/,
      (req, m) => {
        const denied = refused(req, m[1]!);
        if (denied) return denied;
        const body = JSON.parse(req.body.toString() || "{}") as { topicName?: string };
        if (!body.topicName) return error(400, "Invalid topicName", "invalidArgument");
        const b = box(who(req, m[1]!));
        b.watch = { topicName: body.topicName, expiration: Date.now() + 7 * 24 * 3600_000 };
        return { status: 200, body: { historyId: String(b.historyId), expiration: String(b.watch.expiration) } };
      },
    ],
    [
      "POST",
      /^\/gmail\/v1\/users\/([^/]+)\/stop$/,
      (req, m) => {
        const denied = refused(req, m[1]!);
        if (denied) return denied;
        delete box(who(req, m[1]!)).watch;
        return { status: 204 };
      },
    ],
  ], port);

  return {
    url: server.url,
    gmailBaseUrl: server.url,
    tokenUrl: `${server.url}/token`,
    faults,
    get pageSize() {
      return state.pageSize;
    },
    set pageSize(n: number) {
      state.pageSize = n;
    },
    authorizationUrl: `${server.url}/o/oauth2/v2/auth`,
    imapIntrospectionUrl: `${server.url}/imap/introspect`,
    oauth,
    get tokenExpiresIn() {
      return oauth.tokenExpiresIn;
    },
    set tokenExpiresIn(seconds: number) {
      oauth.tokenExpiresIn = seconds;
    },
    tokenRequests: () => oauth.tokenRequests(),
    revokeTokens: () => oauth.revokeTokens(),
    addClient: (c) => oauth.addClient(c),
    addMessage(user, raw, labelIds) {
      const { ids, historyId } = add(user, [{ raw, ...(labelIds ? { labelIds } : {}) }]);
      return { id: ids[0]!, historyId };
    },
    addMessages: (user, items) => add(user, items),
    deleteMessage: (user, id) => void box(user).messages.delete(id),
    historyId: (user) => String(box(user).historyId),
    expireHistory(user) {
      const b = box(user);
      b.oldestHistoryId = b.historyId;
    },
    watch: (user) => box(user).watch,
    close: () => server.close(),
  };
}
