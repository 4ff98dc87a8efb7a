// Bearer admin token for /stats: constant-time comparison through HMAC verify.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import { refuse } from "../http-error.ts";
import { timingSafeEqualText } from "../auth/compare.ts";

export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.var.config.adminToken;
  if (!expected) refuse(503, "admin_not_configured", "INLET_ADMIN_TOKEN is not configured");
  const header = c.req.header("authorization") ?? "";
  const given = header.startsWith("Bearer ") ? header.slice(7) : "";
  if (!(await timingSafeEqualText(given, expected))) refuse(401, "unauthorized", "a valid admin bearer token is required");
  await next();
});
