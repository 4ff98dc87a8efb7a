// Verifies a Pub/Sub push before its body is read: the OIDC JWT in `Authorization: Bearer`
// (see auth/google-oidc.ts). 503 google_not_configured without an audience and service accounts;
// 401 unauthorized, naming the reason, for any token that does not verify.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import { verifyPubSubToken } from "../auth/google-oidc.ts";
import { refuse } from "../http-error.ts";

export const googlePushAuth = createMiddleware<AppEnv>(async (c, next) => {
  const google = c.var.config.google;
  if (!google) refuse(503, "google_not_configured", "GOOGLE_PUBSUB_AUDIENCE and GOOGLE_PUBSUB_SERVICE_ACCOUNTS must be set");
  const auth = await verifyPubSubToken(c.req.header("authorization"), google);
  if (!auth.ok) refuse(401, "unauthorized", `push token refused (${auth.reason})`);
  await next();
});
