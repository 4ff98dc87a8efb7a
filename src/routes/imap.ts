// Notifications from Inlet's own IMAP listener.
//   verify (HMAC signature, 5-minute window) → parse → one ingest call (replay guard included) → 202
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.ts";
import { errorResponse } from "../http-error.ts";
import { readJson } from "../middleware/read-json.ts";
import { registryField } from "../queue/registry.ts";
import { verifyImapSignature } from "../auth/imap-signature.ts";
import { ingest } from "./ingest.ts";

const MAX_BODY = 256 * 1024;

/** The body the IMAP listener posts (consumer/imap-listener/ingress-client.ts). */
export const imapNotificationSchema = z.strictObject({
  providerId: z.string().min(1).max(128),
  mailbox: z.string().min(1).max(320),
  uidValidity: z.string().regex(/^\d{1,20}$/),
  uids: z.array(z.number().int().positive().max(2 ** 32 - 1)).min(1).max(1000),
});

export const imap = new Hono<AppEnv>();

imap.post("/", async (c) => {
  const secret = c.env.IMAP_WEBHOOK_SECRET;
  if (!secret) return errorResponse(c, 503, "imap_disabled", "IMAP_WEBHOOK_SECRET is not configured");
  const body = await readJson(c, imapNotificationSchema, MAX_BODY);
  if (!body.ok) return body.response;
  const signature = await verifyImapSignature(c.req.header("x-inlet-signature"), body.text, secret, Math.floor(Date.now() / 1000));
  if (!signature.ok) return errorResponse(c, 401, signature.code, "the request signature was refused");

  const { providerId, mailbox, uidValidity } = body.data;
  const uids = [...new Set(body.data.uids)];
  const result = await ingest(
    c.env,
    "imap",
    uids.map((uid) => ({
      registryField: registryField.imapProvider(providerId),
      dedupeKey: `imap:${providerId}:${uidValidity}:${uid}`,
      job: { provider: "imap", tenantId: "-", providerId: "-", pointer: { mailbox, uidValidity, uid } },
    })),
    { requestGuard: `imap:signature:${signature.signature}` },
  );
  if (!result.ok) return errorResponse(c, 503, "store_unavailable", "the notification could not be stored; retry later");
  if (result.replay) return errorResponse(c, 401, "replayed_signature", "this signature was used before");
  if (result.counts.unknown === uids.length) return errorResponse(c, 404, "unknown_provider", `no IMAP provider ${providerId} is registered`);
  return c.json({ accepted: result.counts.enqueued ?? 0, duplicates: result.counts.duplicate ?? 0 }, 202);
});
