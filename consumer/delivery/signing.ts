// Standard Webhooks signatures (https://www.standardwebhooks.com/): a secret is `whsec_` and the
// base64 of 24 random bytes; a signature is `v1,` and the base64 HMAC-SHA256, keyed with the
// secret's decoded bytes, of `{webhook-id}.{webhook-timestamp}.{body}`. Several signatures go in
// one header, space-separated: during a secret rotation both the old and the new secret sign, so
// a receiver holding either verifies.
import { createHmac, randomBytes } from "node:crypto";

const PREFIX = "whsec_";
const SECRET_BYTES = 24;

export function generateSecret(): string {
  return PREFIX + randomBytes(SECRET_BYTES).toString("base64");
}

export function isWebhookSecret(value: string): boolean {
  return value.startsWith(PREFIX) && /^[A-Za-z0-9+/]+={0,2}$/.test(value.slice(PREFIX.length)) && value.length > PREFIX.length + 8;
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  if (!isWebhookSecret(secret)) throw new Error("not a whsec_ secret");
  const key = Buffer.from(secret.slice(PREFIX.length), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

/** The three headers of one attempt, signed with every secret given (newest first). */
export function webhookHeaders(secrets: readonly string[], id: string, timestamp: number, body: string): Record<string, string> {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": secrets.map((s) => sign(s, id, timestamp, body)).join(" "),
  };
}
