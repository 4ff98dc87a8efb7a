// Gmail push through Cloud Pub/Sub.
//   verify (OIDC JWT, before the body is read) → parse (message.data) → one ingest call →
//   202 enqueued · 204 unknown mailbox, duplicate or stale (acked: Pub/Sub backs off a whole
//   subscription on errors) · 503 when the store failed (Pub/Sub redelivers)
//
// Stale means at or below the history id the mailbox's consumer has confirmed (its cursor),
// never a value an earlier push brought: a replayed token with a huge historyId cannot make later
// genuine pushes look stale. Repeats are dropped by Pub/Sub message id, within the dedupe TTL;
// the key also holds the mailbox and history id, which a redelivery repeats exactly, so a caller
// cannot burn the ids of pushes still to come.
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../app-env.ts";
import { refuse } from "../http-error.ts";
import { googlePushAuth } from "../middleware/google-push-auth.ts";
import { parseJson, readJson } from "../middleware/read-body.ts";
import { googlePointerSchema, opaqueId } from "../queue/job.ts";
import { registryField } from "../queue/registry.ts";
import { ingest } from "./ingest.ts";

export const GOOGLE_MAX_BODY = 64 * 1024;

const pushSchema = z.object({
  message: z.object({
    data: z.string().check(z.minLength(1), z.maxLength(16 * 1024)),
    messageId: opaqueId(128),
    publishTime: z.optional(z.string()),
  }),
  subscription: z.string().check(z.minLength(1), z.maxLength(512)),
  deliveryAttempt: z.optional(z.number().check(z.int())),
});

/** message.data: base64 JSON {emailAddress, historyId}, checked by the pointer's own schema. */
const dataSchema = z.object({ emailAddress: googlePointerSchema.shape.emailAddress, historyId: googlePointerSchema.shape.historyId });

function decodeData(data: string) {
  let bytes: Uint8Array;
  try {
    const binary = atob(data.replace(/[-_]/g, (ch) => (ch === "-" ? "+" : "/")));
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  } catch {
    refuse(400, "invalid_message_data", "message.data is not base64");
  }
  try {
    return parseJson(bytes, dataSchema);
  } catch {
    refuse(400, "invalid_message_data", "message.data is not base64 JSON {emailAddress, historyId}");
  }
}

export const google = new Hono<AppEnv>();

google.post("/", googlePushAuth, async (c) => {
  const body = await readJson(c, pushSchema, GOOGLE_MAX_BODY);
  const data = decodeData(body.message.data);
  const pubsubMessageId = body.message.messageId;

  const result = await ingest(c.var.config, "google", [
    {
      registryField: registryField.googleMailbox(data.emailAddress),
      dedupeKey: `google:pubsub:${pubsubMessageId}:${data.emailAddress}:${data.historyId}`,
      historyId: data.historyId,
      job: { provider: "google", tenantId: "-", providerId: "-", pointer: { emailAddress: data.emailAddress, historyId: data.historyId, pubsubMessageId } },
    },
  ]);
  return result.outcomes[0] === "enqueued" ? c.json({ accepted: 1 }, 202) : c.body(null, 204);
});
