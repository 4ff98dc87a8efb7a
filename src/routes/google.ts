// Gmail push through Cloud Pub/Sub.
//   verify (OIDC JWT, before anything else) → parse (message.data) → one ingest call →
//   202 enqueued · 204 unknown mailbox, duplicate or stale (acked: Pub/Sub backs off a whole
//   subscription on errors) · 503 when the store failed (Pub/Sub redelivers)
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.ts";
import { errorResponse } from "../http-error.ts";
import { readJson } from "../middleware/read-json.ts";
import { registryField } from "../queue/registry.ts";
import { verifyPubSubToken } from "../auth/google-oidc.ts";
import { ingest } from "./ingest.ts";

const MAX_BODY = 64 * 1024;

const pushSchema = z.object({
  message: z.looseObject({
    data: z.string().min(1).max(16 * 1024),
    messageId: z.string().min(1).max(128),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().min(1).max(512),
  deliveryAttempt: z.number().int().optional(),
});

const dataSchema = z.object({
  emailAddress: z.string().min(3).max(320).includes("@"),
  historyId: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]).transform(String),
});

function decodeData(data: string): z.infer<typeof dataSchema> | undefined {
  try {
    const bytes = Uint8Array.from(atob(data.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
    const parsed = dataSchema.safeParse(JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export const google = new Hono<AppEnv>();

google.post("/", async (c) => {
  const auth = await verifyPubSubToken(c.req.header("authorization"), {
    jwksUrl: c.env.GOOGLE_JWKS_URL ?? "https://www.googleapis.com/oauth2/v3/certs",
    audience: c.env.GOOGLE_PUBSUB_AUDIENCE ?? "",
    serviceAccounts: (c.env.GOOGLE_PUBSUB_SERVICE_ACCOUNTS ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean),
  });
  if (!auth.ok) return errorResponse(c, 401, "unauthorized", `push token refused (${auth.reason})`);

  const body = await readJson(c, pushSchema, MAX_BODY);
  if (!body.ok) return body.response;
  const data = decodeData(body.data.message.data);
  if (!data) return errorResponse(c, 400, "invalid_message_data", "message.data is not base64 JSON {emailAddress, historyId}");

  const result = await ingest(c.env, "google", [
    {
      registryField: registryField.googleMailbox(data.emailAddress),
      dedupeKey: `google:pubsub:${body.data.message.messageId}`,
      historyId: data.historyId,
      job: { provider: "google", tenantId: "-", providerId: "-", pointer: { emailAddress: data.emailAddress.toLowerCase(), historyId: data.historyId, pubsubMessageId: body.data.message.messageId } },
    },
  ]);
  if (!result.ok) return errorResponse(c, 503, "store_unavailable", "the notification could not be stored; retry later");
  return result.outcomes[0] === "enqueued" ? c.json({ accepted: 1 }, 202) : c.body(null, 204);
});
