// A local Microsoft Graph + identity platform (dev/fakes/microsoft-identity.ts: admin consent,
// client credentials with a secret or a client assertion, IMAP introspection), speaking the
// documented wire format:
//   GET  /v1.0/users/{mailbox}/mailFolders/inbox                the Inbox (what `providers check` reads)
//   GET  /v1.0/users/{mailbox}/messages/{id}/$value             MIME (Prefer: IdType="ImmutableId" required)
//   GET  /v1.0/users/{mailbox}/mailFolders/inbox/messages       recent ids (paged, @odata.nextLink)
//   GET  /v1.0/users/{mailbox}/mailFolders/inbox/messages/delta  delta query: `changeType=created`,
//        `$select`, `$filter=receivedDateTime ge {time}`, pages of `Prefer: odata.maxpagesize` (10),
//        `@odata.nextLink` then `@odata.deltaLink` (all options encoded in the link), 410 once the
//        sync state has expired
//   POST /v1.0/subscriptions, PATCH|DELETE /v1.0/subscriptions/{id}   (creation validates the notificationUrl)
// plus controls to add messages, inject faults, and send change / lifecycle notifications.
import { randomUUID } from "node:crypto";
import { Faults, startFakeServer, type FakeRequest, type FakeResponse } from "./http-server.ts";
import { createMicrosoftIdentity, type MicrosoftIdentityFake } from "./microsoft-identity.ts";

export interface FakeGraphApp {
  azureTenantId: string;
  clientId: string;
  clientSecret?: string;
  /** A PEM certificate the app may sign client assertions with. */
  certificate?: string;
}

interface StoredMessage {
  raw: Uint8Array;
  seq: number;
  receivedAt: Date;
}

/** What a delta link carries: every query option, and where the round stands. */
interface DeltaState {
  generation: number;
  /** Messages after this position are new to the holder of the link. */
  after: number;
  /** A page link: the round's snapshot, which its pages run up to. */
  upTo?: number;
  since?: string;
  select?: string;
  pageSize: number;
}
const encodeState = (state: DeltaState) => Buffer.from(JSON.stringify(state)).toString("base64url");
const decodeState = (token: string): DeltaState | undefined => {
  try {
    return JSON.parse(Buffer.from(token, "base64url").toString()) as DeltaState;
  } catch {
    return undefined;
  }
};

interface Subscription {
  id: string;
  resource: string;
  mailbox: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  clientState: string;
  expirationDateTime: string;
  changeType: string;
}

export interface FakeGraph {
  url: string;
  graphBaseUrl: string;
  loginBaseUrl: string;
  /** Where Dovecot's oauth2 passdb asks whether an app-only token may log in to IMAP. */
  imapIntrospectionUrl: string;
  /** The identity platform: app registrations, admin consent, tokens. */
  identity: MicrosoftIdentityFake;
  /** Graph answers 403 ErrorAccessDenied for this mailbox (an application access policy excludes it). */
  denyMailbox(mailbox: string, denied?: boolean): void;
  /** Keys: "token", `message:${id}`, "subscription" (renewals), "delta". */
  faults: Faults;
  tokenRequests(): number;
  /** Refuse every access token issued so far (as when an admin revokes the app's sessions). */
  revokeTokens(): void;
  subscriptions(): Subscription[];
  /** Register the app (with this secret or certificate) and consent to it in its tenant. */
  addApp(app: FakeGraphApp): void;
  /** Deliver a message to a mailbox; returns its immutable id. */
  addMessage(mailbox: string, raw: Uint8Array | string, id?: string, receivedAt?: Date): string;
  /** Forget every delta sync state issued so far: their links answer 410 Gone. */
  expireDeltaTokens(): void;
  /** Delta query requests served (for tests of sweep cost). */
  deltaRequests(): number;
  /** The largest delta page it serves, whatever `odata.maxpagesize` asks (Graph may send fewer). */
  maxDeltaPageSize: number;
  /** The fraction (0 to 1) of change notifications `notify` silently does not send. */
  dropNotifications: number;
  /** Change notifications not sent because of `dropNotifications`. */
  droppedNotifications(): number;
  removeMessage(mailbox: string, id: string): void;
  /** Send Graph's change notification for a message to every subscription on its mailbox. */
  notify(mailbox: string, messageId: string, options?: { repeat?: number }): Promise<number[]>;
  lifecycle(subscriptionId: string, event: "reauthorizationRequired" | "subscriptionRemoved" | "missed"): Promise<number>;
  /** Forget a subscription as Graph does when it removes one. */
  dropSubscription(id: string): void;
  close(): Promise<void>;
}

export async function startFakeGraph(port = 0): Promise<FakeGraph> {
  const denied = new Set<string>();
  const messages = new Map<string, Map<string, StoredMessage>>(); // mailbox → id → message
  let sequence = 0; // arrival order across mailboxes: delta sync states are positions in it
  let deltaGeneration = 0; // sync states of an older generation have expired
  let deltaRequests = 0;
  const notifications = { drop: 0, dropped: 0 };
  const delta = { maxPageSize: 1000 };
  const subscriptions = new Map<string, Subscription>();
  const faults = new Faults();
  const identity = createMicrosoftIdentity(() => server.url, faults);

  const authorised = (req: FakeRequest): boolean => identity.tokenFor(req, "graph") !== undefined;
  const error = (status: number, code: string, message: string): FakeResponse => ({ status, body: { error: { code, message, innerError: { "request-id": randomUUID(), date: new Date().toISOString() } } } });
  const mailboxOf = (resource: string) => /^\/?users\/([^/]+)\//i.exec(resource)?.[1];

  const server = await startFakeServer([
    ...identity.routes,
    [
      "GET",
      /^\/v1\.0\/users\/([^/]+)\/mailFolders\/inbox$/,
      (req, m) => {
        if (!authorised(req)) return error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
        const mailbox = decodeURIComponent(m[1]!).toLowerCase();
        if (denied.has(mailbox)) return error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");
        const box = messages.get(mailbox);
        return { status: 200, body: { id: `inbox-${mailbox}`, displayName: "Inbox", parentFolderId: "root", childFolderCount: 0, unreadItemCount: box?.size ?? 0, totalItemCount: box?.size ?? 0 } };
      },
    ],
    [
      "GET",
      /^\/v1\.0\/users\/([^/]+)\/messages\/([^/]+)\/\$value$/,
      async (req, m) => {
        if (!authorised(req)) return error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
        if (!/IdType="ImmutableId"/.test(String(req.headers.prefer ?? ""))) return error(400, "ErrorInvalidIdMalformed", "Id is malformed (immutable ids require Prefer: IdType=\"ImmutableId\").");
        const mailbox = decodeURIComponent(m[1]!).toLowerCase();
        if (denied.has(mailbox)) return error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");
        const id = decodeURIComponent(m[2]!);
        const fault = await faults.apply(`message:${id}`);
        if (fault) return fault;
        const stored = messages.get(mailbox)?.get(id);
        if (!stored) return error(404, "ErrorItemNotFound", "The specified object was not found in the store.");
        const stall = faults.stall(`message:${id}`);
        return { status: 200, headers: { "content-type": "text/plain" }, body: Buffer.from(stored.raw), ...(stall ? { stallBodyMs: stall } : {}) };
      },
    ],
    [
      "GET",
      /^\/v1\.0\/users\/([^/]+)\/mailFolders\/inbox\/messages\/delta$/,
      async (req, m) => {
        if (!authorised(req)) return error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
        if (!/IdType="ImmutableId"/.test(String(req.headers.prefer ?? ""))) return error(400, "ErrorInvalidIdMalformed", "Id is malformed (immutable ids require Prefer: IdType=\"ImmutableId\").");
        deltaRequests++;
        const fault = await faults.apply("delta");
        if (fault) return fault;
        const mailbox = decodeURIComponent(m[1]!).toLowerCase();
        const q = req.url.searchParams;
        const token = q.get("$deltatoken") ?? q.get("$skiptoken");
        let state: DeltaState;
        if (token) {
          const decoded = decodeState(token);
          if (!decoded) return error(400, "BadRequest", "The delta token is malformed.");
          if (decoded.generation < deltaGeneration) return error(410, "SyncStateNotFound", "The sync state generation is not found. Start a new synchronization.");
          state = decoded;
        } else {
          if (q.get("changeType") && q.get("changeType") !== "created") return error(400, "BadRequest", "Only changeType=created is supported by this fake.");
          const filter = q.get("$filter");
          const since = filter ? /^receivedDateTime (?:ge|gt) (\S+)$/.exec(filter)?.[1] : undefined;
          if (filter && !since) return error(400, "BadRequest", "Only $filter=receivedDateTime ge|gt {value} is supported on delta.");
          const pageSize = Math.min(delta.maxPageSize, Number(/odata\.maxpagesize=(\d+)/.exec(String(req.headers.prefer ?? ""))?.[1] ?? 10));
          state = { generation: deltaGeneration, after: 0, pageSize, ...(since ? { since } : {}), ...(q.get("$select") ? { select: q.get("$select")! } : {}) };
        }
        const upTo = state.upTo ?? sequence;
        const since = state.since ? Date.parse(state.since) : -Infinity;
        const all = [...(messages.get(mailbox) ?? new Map<string, StoredMessage>()).entries()]
          .filter(([, msg]) => msg.seq > state.after && msg.seq <= upTo && msg.receivedAt.getTime() >= since)
          .sort((a, b) => a[1].seq - b[1].seq);
        const page = all.slice(0, state.pageSize);
        const more = all.length > page.length;
        const last = page.at(-1)?.[1].seq ?? state.after;
        const link = (param: string, next: DeltaState) => `${server.url}/v1.0/users/${m[1]}/mailFolders/inbox/messages/delta?${param}=${encodeState(next)}`;
        const value = page.map(([id, msg]) => ({ "@odata.type": "#microsoft.graph.message", id, ...(state.select?.includes("receivedDateTime") ? { receivedDateTime: msg.receivedAt.toISOString() } : {}) }));
        return {
          status: 200,
          body: {
            "@odata.context": `https://graph.microsoft.com/v1.0/$metadata#Collection(message)`,
            value,
            ...(more ? { "@odata.nextLink": link("$skiptoken", { ...state, after: last, upTo }) } : { "@odata.deltaLink": link("$deltatoken", { ...state, after: upTo, upTo: undefined }) }),
          },
        };
      },
    ],
    [
      "GET",
      /^\/v1\.0\/users\/([^/]+)\/mailFolders\/inbox\/messages$/,
      (req, m) => {
        if (!authorised(req)) return error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
        const mailbox = decodeURIComponent(m[1]!).toLowerCase();
        const ids = [...(messages.get(mailbox)?.keys() ?? [])].reverse();
        const top = Number(req.url.searchParams.get("$top") ?? 10);
        const skip = Number(req.url.searchParams.get("$skip") ?? 0);
        const page = ids.slice(skip, skip + top);
        const next = skip + top < ids.length ? `${server.url}/v1.0/users/${m[1]}/mailFolders/inbox/messages?$top=${top}&$skip=${skip + top}` : undefined;
        return { status: 200, body: { value: page.map((id) => ({ id })), ...(next ? { "@odata.nextLink": next } : {}) } };
      },
    ],
    [
      "POST",
      /^\/v1\.0\/subscriptions$/,
      async (req) => {
        if (!authorised(req)) return error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
        const body = JSON.parse(req.body.toString()) as Partial<Subscription>;
        if (!body.notificationUrl || !body.resource || !body.clientState || !body.expirationDateTime) return error(400, "InvalidRequest", "missing subscription properties");
        // Graph validates the endpoint before it creates the subscription.
        for (const url of [body.notificationUrl, body.lifecycleNotificationUrl].filter((u): u is string => !!u)) {
          const token = `Validation: ${randomUUID()}`;
          const answer = await fetch(`${url}${url.includes("?") ? "&" : "?"}validationToken=${encodeURIComponent(token)}`, { method: "POST", headers: { "content-type": "text/plain" } }).catch(() => undefined);
          if (!answer || answer.status !== 200 || (await answer.text()) !== token) return error(400, "ValidationError", `Subscription validation request failed for ${url}`);
        }
        const subscription: Subscription = {
          id: randomUUID(),
          resource: body.resource,
          mailbox: decodeURIComponent(mailboxOf(body.resource) ?? "").toLowerCase(),
          notificationUrl: body.notificationUrl,
          ...(body.lifecycleNotificationUrl ? { lifecycleNotificationUrl: body.lifecycleNotificationUrl } : {}),
          clientState: body.clientState,
          expirationDateTime: body.expirationDateTime,
          changeType: body.changeType ?? "created",
        };
        subscriptions.set(subscription.id, subscription);
        return { status: 201, body: { "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity", ...subscription } };
      },
    ],
    [
      "PATCH",
      /^\/v1\.0\/subscriptions\/([^/]+)$/,
      async (req, m) => {
        if (!authorised(req)) return error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
        const fault = await faults.apply("subscription");
        if (fault) return fault;
        const subscription = subscriptions.get(decodeURIComponent(m[1]!));
        if (!subscription) return error(404, "ResourceNotFound", "The object was not found.");
        const body = JSON.parse(req.body.toString()) as { expirationDateTime?: string };
        if (body.expirationDateTime) subscription.expirationDateTime = body.expirationDateTime;
        return { status: 200, body: subscription };
      },
    ],
    [
      "DELETE",
      /^\/v1\.0\/subscriptions\/([^/]+)$/,
      (req, m) => {
        if (!authorised(req)) return error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
        return subscriptions.delete(decodeURIComponent(m[1]!)) ? { status: 204 } : error(404, "ResourceNotFound", "The object was not found.");
      },
    ],
  ], port);

  const post = async (url: string, body: unknown) => (await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).status;

  return {
    url: server.url,
    graphBaseUrl: `${server.url}/v1.0`,
    loginBaseUrl: `${server.url}/login`,
    faults,
    imapIntrospectionUrl: `${server.url}/login/imap/introspect`,
    identity,
    denyMailbox: (mailbox, isDenied = true) => void (isDenied ? denied.add(mailbox.toLowerCase()) : denied.delete(mailbox.toLowerCase())),
    tokenRequests: () => identity.tokenRequests(),
    revokeTokens: () => identity.revokeTokens(),
    subscriptions: () => [...subscriptions.values()],
    addApp: (app) => identity.addApp(app),
    addMessage(mailbox, raw, id = `AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A${randomUUID().replace(/-/g, "")}`, receivedAt = new Date()) {
      const box = messages.get(mailbox.toLowerCase()) ?? new Map<string, StoredMessage>();
      box.set(id, { raw: typeof raw === "string" ? new TextEncoder().encode(raw) : raw, seq: ++sequence, receivedAt });
      messages.set(mailbox.toLowerCase(), box);
      return id;
    },
    expireDeltaTokens: () => void deltaGeneration++,
    get maxDeltaPageSize() {
      return delta.maxPageSize;
    },
    set maxDeltaPageSize(n: number) {
      delta.maxPageSize = n;
    },
    deltaRequests: () => deltaRequests,
    get dropNotifications() {
      return notifications.drop;
    },
    set dropNotifications(fraction: number) {
      notifications.drop = fraction;
    },
    droppedNotifications: () => notifications.dropped,
    removeMessage: (mailbox, id) => void messages.get(mailbox.toLowerCase())?.delete(id),
    async notify(mailbox, messageId, options = {}) {
      const statuses: number[] = [];
      for (const s of subscriptions.values()) {
        if (s.mailbox !== mailbox.toLowerCase()) continue;
        const item = {
          subscriptionId: s.id,
          subscriptionExpirationDateTime: s.expirationDateTime,
          changeType: "created",
          resource: `Users/${mailbox}/Messages/${messageId}`,
          resourceData: { "@odata.type": "#Microsoft.Graph.Message", "@odata.id": `Users/${mailbox}/Messages/${messageId}`, "@odata.etag": 'W/"CQAAABYAAAA"', id: messageId },
          clientState: s.clientState,
          tenantId: "00000000-0000-0000-0000-000000000001",
        };
        if (notifications.drop > 0 && Math.random() < notifications.drop) {
          notifications.dropped++;
          continue;
        }
        for (let i = 0; i < (options.repeat ?? 1); i++) statuses.push(await post(s.notificationUrl, { value: [item] }));
      }
      return statuses;
    },
    async lifecycle(subscriptionId, event) {
      const s = subscriptions.get(subscriptionId);
      if (!s?.lifecycleNotificationUrl) throw new Error(`no lifecycle URL for ${subscriptionId}`);
      return post(s.lifecycleNotificationUrl, { value: [{ subscriptionId, subscriptionExpirationDateTime: s.expirationDateTime, tenantId: "00000000-0000-0000-0000-000000000001", clientState: s.clientState, lifecycleEvent: event }] });
    },
    dropSubscription: (id) => void subscriptions.delete(id),
    close: () => server.close(),
  };
}
