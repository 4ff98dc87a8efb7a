// Plays Cloud Pub/Sub's push delivery for the local stack: a Gmail notification wrapped as a
// push message, with an OIDC token signed by the sandbox's key, POSTed to the edge.
import { randomUUID } from "node:crypto";
import { importJWK, SignJWT, type JWK } from "jose";

export interface PushIdentity {
  privateJwk: JWK;
  audience: string;
  serviceAccount: string;
}

/** An OIDC token as Pub/Sub signs it for a push (valid an hour; a sender may reuse it meanwhile). */
export async function signPushToken(identity: PushIdentity): Promise<string> {
  const key = await importJWK(identity.privateJwk, "RS256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: identity.serviceAccount, email_verified: true, sub: "112233445566778899000" })
    .setProtectedHeader({ alg: "RS256", kid: String(identity.privateJwk.kid), typ: "JWT" })
    .setIssuer("https://accounts.google.com")
    .setAudience(identity.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key);
}

export async function pushGmailNotification(endpoint: string, identity: PushIdentity, notification: { emailAddress: string; historyId: string }, options: { token?: string } = {}): Promise<number> {
  const token = options.token ?? (await signPushToken(identity));
  const body = {
    message: { data: Buffer.from(JSON.stringify(notification)).toString("base64"), messageId: String(Date.now()) + randomUUID().slice(0, 4), publishTime: new Date().toISOString(), attributes: {} },
    subscription: "projects/inlet-sandbox/subscriptions/gmail-push",
  };
  const response = await fetch(endpoint, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return response.status;
}
