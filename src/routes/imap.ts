// Notifications from Inlet's own IMAP listener.
//   verify (signature header and window before the body, then the HMAC over it) → parse →
//   one ingest call (replay guard included) → 202 · 401 replayed · 404 unknown provider
import { Hono } from "hono";
import * as z from "zod/mini";
import { refuse } from "../http-error.ts";
import { imapSignature, type ImapEnv } from "../middleware/imap-signature.ts";
import { parseJson } from "../middleware/read-body.ts";
import { imapPointerSchema, opaqueId } from "../queue/job.ts";
import { registryField } from "../queue/registry.ts";
import { ingest } from "./ingest.ts";

export const IMAP_MAX_BODY = 256 * 1024;

/** The body the IMAP listener posts (consumer/imap-listener/ingress-client.ts); the pointer's
 * fields are checked (and uidValidity normalised) by the job's own schemas. */
export const imapNotificationSchema = z.strictObject({
  providerId: opaqueId(128),
  mailbox: imapPointerSchema.shape.mailbox,
  uidValidity: imapPointerSchema.shape.uidValidity,
  uids: z.array(imapPointerSchema.shape.uid).check(z.minLength(1), z.maxLength(1000)),
});

export const imap = new Hono<ImapEnv>();

imap.post("/", imapSignature(IMAP_MAX_BODY), async (c) => {
  const { bytes, signature } = c.var.signed;
  const { providerId, mailbox, uidValidity, uids: listed } = parseJson(bytes, imapNotificationSchema);
  const uids = [...new Set(listed)];

  const result = await ingest(
    c.var.config,
    "imap",
    uids.map((uid) => ({
      registryField: registryField.imapProvider(providerId),
      dedupeKey: `imap:${providerId}:${uidValidity}:${uid}`,
      job: { provider: "imap", tenantId: "-", providerId: "-", pointer: { mailbox, uidValidity, uid } },
    })),
    { requestGuard: `imap:signature:${signature}` },
  );
  if (result.replay) refuse(401, "replayed_signature", "this signature was used before");
  if (result.counts.unknown === uids.length) refuse(404, "unknown_provider", `no IMAP provider ${providerId} is registered`);
  return c.json({ accepted: result.counts.enqueued ?? 0, duplicates: result.counts.duplicate ?? 0 }, 202);
});
