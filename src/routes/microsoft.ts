// Microsoft Graph change notifications and lifecycle notifications.
//   verify (validation handshake, method, body, validationTokens; clientState per item in the
//   script) → parse (each item on its own) → one ingest call → 202 / 503
//
// Each item is checked on its own against the pointer's schema (src/queue/job.ts): an item that
// cannot be a pointer, has no clientState, or is not a `created` change is dropped and counted,
// never the batch. A batch with no item that could be valid costs no Redis call.
import { Hono, type Context } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../app-env.ts";
import { verifyValidationTokens } from "../auth/microsoft-validation-tokens.ts";
import { refuse } from "../http-error.ts";
import { graphHandshake } from "../middleware/graph-handshake.ts";
import { readJson } from "../middleware/read-body.ts";
import { isWellFormed, lifecyclePointerSchema, microsoftPointerSchema } from "../queue/job.ts";
import type { IngestItem } from "../queue/queue.ts";
import { registryField, sha256Hex } from "../queue/registry.ts";
import { ingest } from "./ingest.ts";

export const MICROSOFT_MAX_BODY = 1024 * 1024;
/** Graph's limit on clientState. */
const MAX_CLIENT_STATE = 255;

const collectionSchema = z.object({
  value: z.array(z.unknown()).check(z.minLength(1), z.maxLength(1000)),
  validationTokens: z.optional(z.array(z.string().check(z.maxLength(8192))).check(z.maxLength(100))),
});

// What every item carries: a subscription and its clientState (z.object, not looseObject: only the
// fields read here are copied; Graph items carry more).
const clientState = z.string().check(z.minLength(1), z.maxLength(MAX_CLIENT_STATE), z.refine(isWellFormed));
const subscriptionId = microsoftPointerSchema.shape.subscriptionId;

/** A change notification that can become a pointer: its fields are the pointer's own schemas. */
const changeSchema = z.object({
  subscriptionId,
  clientState,
  changeType: z.literal("created"),
  resource: microsoftPointerSchema.shape.resource,
  resourceData: z.object({ id: microsoftPointerSchema.shape.messageId }),
});

const lifecycleSchema = z.object({
  subscriptionId,
  clientState,
  lifecycleEvent: lifecyclePointerSchema.shape.lifecycleEvent,
  subscriptionExpirationDateTime: z.optional(z.string().check(z.maxLength(64), z.refine(isWellFormed))),
});

/** Method, body and validationTokens: what both Graph URLs check before their items. */
async function verifiedItems(c: Context<AppEnv>): Promise<unknown[]> {
  if (c.req.method !== "POST") refuse(405, "method_not_allowed", "POST a changeNotificationCollection");
  const body = await readJson(c, collectionSchema, MICROSOFT_MAX_BODY);
  if (body.validationTokens && body.validationTokens.length > 0 && c.var.config.microsoft.appId) {
    const tenantIds = [...new Set(body.value.map((i) => (i as { tenantId?: unknown } | null)?.tenantId).filter((t): t is string => typeof t === "string" && t !== ""))];
    const ok = await verifyValidationTokens(body.validationTokens, { jwksUrl: c.var.config.microsoft.jwksUrl, appId: c.var.config.microsoft.appId, tenantIds });
    if (!ok) refuse(401, "invalid_validation_tokens", "validationTokens did not verify");
  }
  return body.value;
}

/** Items that pass `schema`, each turned into an ingest item by `toItem`; the rest counted. */
async function ingestItems<S extends typeof changeSchema | typeof lifecycleSchema>(values: unknown[], schema: S, toItem: (item: z.output<S>) => Omit<IngestItem, "registryField" | "secretHash">) {
  const items: IngestItem[] = [];
  let invalid = 0;
  for (const value of values) {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      invalid++;
      continue;
    }
    const item = parsed.data as z.output<S>;
    const secretHash = hashes.get(item.clientState) ?? (await clientStateHash(item.clientState));
    items.push({ ...toItem(item), registryField: registryField.microsoftSubscription(item.subscriptionId), secretHash });
  }
  return { items, invalid };
}

/** sha256 of a clientState: the items of one subscription all carry the same clientState, so a
 * batch of 50 hashes a handful. Kept per isolate, at most 1,024 (then started afresh). */
const hashes = new Map<string, string>();
async function clientStateHash(clientState: string): Promise<string> {
  let hash = hashes.get(clientState);
  if (hash === undefined) {
    hash = await sha256Hex(clientState);
    if (hashes.size >= 1024) hashes.clear();
    hashes.set(clientState, hash);
  }
  return hash;
}

export const microsoft = new Hono<AppEnv>();
microsoft.use(graphHandshake);

microsoft.all("/", async (c) => {
  const values = await verifiedItems(c);
  const { items, invalid } = await ingestItems(values, changeSchema, (item) => {
    const pointer = { subscriptionId: item.subscriptionId, messageId: item.resourceData.id, resource: item.resource, changeType: "created" as const };
    return { dedupeKey: `microsoft:${pointer.subscriptionId}:${pointer.messageId}`, job: { provider: "microsoft", tenantId: "-", providerId: "-", pointer } };
  });
  const result = await ingest(c.var.config, "microsoft", items, { invalid });
  const accepted = result.counts.enqueued ?? 0;
  return c.json({ accepted, dropped: values.length - accepted }, 202);
});

microsoft.all("/lifecycle", async (c) => {
  const values = await verifiedItems(c);
  const { items, invalid } = await ingestItems(values, lifecycleSchema, (item) => {
    const pointer = { subscriptionId: item.subscriptionId, lifecycleEvent: item.lifecycleEvent };
    // Graph repeats a lifecycle notification it thinks was not delivered; a later event of the
    // same kind for the same subscription (after a renewal) carries a new expiry.
    const dedupeKey = `microsoft:lifecycle:${pointer.subscriptionId}:${pointer.lifecycleEvent}:${item.subscriptionExpirationDateTime ?? ""}`;
    return { dedupeKey, job: { provider: "microsoft", kind: "lifecycle", tenantId: "-", providerId: "-", pointer } };
  });
  const result = await ingest(c.var.config, "microsoft", items, { invalid });
  const accepted = result.counts.enqueued ?? 0;
  return c.json({ accepted, dropped: values.length - accepted }, 202);
});
