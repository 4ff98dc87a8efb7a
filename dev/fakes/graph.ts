// A local Microsoft Graph + identity platform, speaking the documented wire format:
//   POST /login/{tenant}/oauth2/v2.0/token                      client credentials → access token
//   GET  /v1.0/users/{mailbox}/messages/{id}/$value             MIME (Prefer: IdType="ImmutableId" required)
//   GET  /v1.0/users/{mailbox}/mailFolders/inbox/messages       recent ids (paged, @odata.nextLink)
//   POST /v1.0/subscriptions, PATCH|DELETE /v1.0/subscriptions/{id}   (creation validates the notificationUrl)
// plus controls to add messages, inject faults, and send change / lifecycle notifications.
import { randomUUID } from "node:crypto";
import { Faults, startFakeServer, type FakeRequest, type FakeResponse } from "./http-server.ts";

export interface FakeGraphApp {
  azureTenantId: string;
  clientId: string;
  clientSecret: string;
}

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
  /** Keys: "token", `message:${id}`, "subscription" (renewals). */
  faults: Faults;
  tokenRequests(): number;
  /** Refuse every access token issued so far (as when an admin revokes the app's sessions). */
  revokeTokens(): void;
  subscriptions(): Subscription[];
  addApp(app: FakeGraphApp): void;
  /** Deliver a message to a mailbox; returns its immutable id. */
  addMessage(mailbox: string, raw: Uint8Array | string, id?: string): string;
  removeMessage(mailbox: string, id: string): void;
  /** Send Graph's change notification for a message to every subscription on its mailbox. */
  notify(mailbox: string, messageId: string, options?: { repeat?: number }): Promise<number[]>;
  lifecycle(subscriptionId: string, event: "reauthorizationRequired" | "subscriptionRemoved" | "missed"): Promise<number>;
  /** Forget a subscription as Graph does when it removes one. */
  dropSubscription(id: string): void;
  close(): Promise<void>;
}

export async function startFakeGraph(port = 0): Promise<FakeGraph> {
  const apps = new Map<string, FakeGraphApp>();
  const tokens = new Map<string, string>(); // token → app key
  const messages = new Map<string, Map<string, Uint8Array>>(); // mailbox → id → MIME
  const subscriptions = new Map<string, Subscription>();
  const faults = new Faults();
  let tokenRequests = 0;

  const authorised = (req: FakeRequest): boolean => {
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    return tokens.has(token);
  };
  const error = (status: number, code: string, message: string): FakeResponse => ({ status, body: { error: { code, message, innerError: { "request-id": randomUUID(), date: new Date().toISOString() } } } });
  const mailboxOf = (resource: string) => /^\/?users\/([^/]+)\//i.exec(resource)?.[1];

  const server = await startFakeServer([
    [
      "POST",
      /^\/login\/([^/]+)\/oauth2\/v2\.0\/token$/,
      async (req, m) => {
        tokenRequests++;
        const fault = await faults.apply("token");
        if (fault) return fault;
        const form = new URLSearchParams(req.body.toString());
        if (form.get("scope") !== "https://graph.microsoft.com/.default") {
          return { status: 400, body: { error: "invalid_scope", error_description: "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier." } };
        }
        const app = apps.get(`${decodeURIComponent(m[1]!)}:${form.get("client_id")}`);
        if (form.get("grant_type") !== "client_credentials" || !app || app.clientSecret !== form.get("client_secret")) {
          return { status: 401, body: { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided." } };
        }
        const token = `graph-${randomUUID()}`;
        tokens.set(token, `${app.azureTenantId}:${app.clientId}`);
        return { status: 200, body: { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: token } };
      },
    ],
    [
      "GET",
      /^\/v1\.0\/users\/([^/]+)\/messages\/([^/]+)\/\$value$/,
      async (req, m) => {
        if (!authorised(req)) return error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
        if (!/IdType="ImmutableId"/.test(String(req.headers.prefer ?? ""))) return error(400, "ErrorInvalidIdMalformed", "Id is malformed (immutable ids require Prefer: IdType=\"ImmutableId\").");
        const mailbox = decodeURIComponent(m[1]!).toLowerCase();
        const id = decodeURIComponent(m[2]!);
        const fault = await faults.apply(`message:${id}`);
        if (fault) return fault;
        const raw = messages.get(mailbox)?.get(id);
        if (!raw) return error(404, "ErrorItemNotFound", "The specified object was not found in the store.");
        const stall = faults.stall(`message:${id}`);
        return { status: 200, headers: { "content-type": "text/plain" }, body: Buffer.from(raw), ...(stall ? { stallBodyMs: stall } : {}) };
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
    tokenRequests: () => tokenRequests,
    revokeTokens: () => tokens.clear(),
    subscriptions: () => [...subscriptions.values()],
    addApp: (app) => void apps.set(`${app.azureTenantId}:${app.clientId}`, app),
    addMessage(mailbox, raw, id = `AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A${randomUUID().replace(/-/g, "")}`) {
      const box = messages.get(mailbox.toLowerCase()) ?? new Map<string, Uint8Array>();
      box.set(id, typeof raw === "string" ? new TextEncoder().encode(raw) : raw);
      messages.set(mailbox.toLowerCase(), box);
      return id;
    },
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
