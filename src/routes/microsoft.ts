// Microsoft Graph change notifications and lifecycle notifications.
//   verify (validation handshake, clientState per item, validationTokens) → parse → one ingest call → 202 / 503
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.ts";
import { errorResponse } from "../http-error.ts";
import { readJson } from "../middleware/read-json.ts";
import type { IngestItem } from "../queue/queue.ts";
import { registryField, sha256Hex } from "../queue/registry.ts";
import { verifyValidationTokens } from "../auth/microsoft-validation-tokens.ts";
import { ingest } from "./ingest.ts";

const MAX_BODY = 1024 * 1024;
const LIFECYCLE_EVENTS = ["reauthorizationRequired", "subscriptionRemoved", "missed"] as const;

const itemSchema = z.looseObject({
  subscriptionId: z.string().min(1).max(128),
  clientState: z.string().max(256).nullish(),
  changeType: z.string().max(64).optional(),
  resource: z.string().max(2048).optional(),
  tenantId: z.string().max(64).optional(),
  lifecycleEvent: z.string().max(64).optional(),
  resourceData: z.looseObject({ id: z.string().min(1).max(512).optional() }).nullish(),
});
const collectionSchema = z.object({ value: z.array(itemSchema).min(1).max(1000), validationTokens: z.array(z.string().max(8192)).max(100).optional() });
type Item = z.infer<typeof itemSchema>;

/** Graph's validation handshake: echo the decoded token as text/plain, on any method. */
function validationHandshake(c: Context): Response | undefined {
  const token = c.req.query("validationToken");
  if (token === undefined) return undefined;
  return c.body(token, 200, { "content-type": "text/plain; charset=utf-8" });
}

async function baseItem(item: Item): Promise<Pick<IngestItem, "registryField" | "secretHash">> {
  // A missing clientState hashes like any other wrong one: the script refuses it.
  return { registryField: registryField.microsoftSubscription(item.subscriptionId), secretHash: await sha256Hex(item.clientState ?? "") };
}

function messageItem(item: Item): { messageId: string; resource: string } | undefined {
  const messageId = item.resourceData?.id;
  if (item.changeType !== "created" || !messageId || !item.resource) return undefined;
  return { messageId, resource: item.resource };
}

/** Handshake, method, body and validationTokens: what both Graph URLs check before their items. */
async function verifiedCollection(c: Context<AppEnv>): Promise<{ items: Item[] } | { response: Response }> {
  const handshake = validationHandshake(c);
  if (handshake) return { response: handshake };
  if (c.req.method !== "POST") return { response: errorResponse(c, 405, "method_not_allowed", "POST a changeNotificationCollection") };
  const body = await readJson(c, collectionSchema, MAX_BODY);
  if (!body.ok) return { response: body.response };
  if (!(await tokensValid(c, body.data.validationTokens, body.data.value))) return { response: errorResponse(c, 401, "invalid_validation_tokens", "validationTokens did not verify") };
  return { items: body.data.value };
}

export const microsoft = new Hono<AppEnv>();

microsoft.all("/", async (c) => {
  const collection = await verifiedCollection(c);
  if ("response" in collection) return collection.response;

  const items: IngestItem[] = [];
  let invalid = 0;
  for (const item of collection.items) {
    const message = messageItem(item);
    if (!message) {
      invalid++;
      continue;
    }
    items.push({
      ...(await baseItem(item)),
      dedupeKey: `microsoft:${item.subscriptionId}:${message.messageId}`,
      job: { provider: "microsoft", tenantId: "-", providerId: "-", pointer: { subscriptionId: item.subscriptionId, messageId: message.messageId, resource: message.resource, changeType: "created" } },
    });
  }
  const result = await ingest(c.env, "microsoft", items, { invalid });
  if (!result.ok) return errorResponse(c, 503, "store_unavailable", "the notification could not be stored; retry later");
  return c.json({ accepted: result.counts.enqueued ?? 0, dropped: items.length - (result.counts.enqueued ?? 0) + invalid }, 202);
});

microsoft.all("/lifecycle", async (c) => {
  const collection = await verifiedCollection(c);
  if ("response" in collection) return collection.response;

  const items: IngestItem[] = [];
  let invalid = 0;
  for (const item of collection.items) {
    const event = LIFECYCLE_EVENTS.find((e) => e === item.lifecycleEvent);
    if (!event) {
      invalid++;
      continue;
    }
    items.push({
      ...(await baseItem(item)),
      job: { provider: "microsoft", kind: "lifecycle", tenantId: "-", providerId: "-", pointer: { subscriptionId: item.subscriptionId, lifecycleEvent: event } },
    });
  }
  const result = await ingest(c.env, "microsoft", items, { invalid });
  if (!result.ok) return errorResponse(c, 503, "store_unavailable", "the notification could not be stored; retry later");
  return c.json({ accepted: result.counts.enqueued ?? 0 }, 202);
});

async function tokensValid(c: Context<AppEnv>, tokens: string[] | undefined, items: Item[]): Promise<boolean> {
  if (!tokens || tokens.length === 0) return true;
  const appId = c.env.MICROSOFT_APP_ID;
  if (!appId) return true; // subscribed without resource data: clientState is the check
  const tenantIds = [...new Set(items.map((i) => i.tenantId).filter((t): t is string => !!t))];
  return verifyValidationTokens(tokens, { jwksUrl: c.env.MICROSOFT_JWKS_URL ?? "https://login.microsoftonline.com/common/discovery/v2.0/keys", appId, tenantIds });
}
