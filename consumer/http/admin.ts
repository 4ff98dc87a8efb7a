// POST /admin/delivery/<operation>: the operator's delivery and API-token operations
// (consumer/delivery/admin-operations.ts) run by this consumer, for a CLI in another terminal
// when this process owns the embedded database. Bearer INLET_ADMIN_TOKEN; without one set, the
// routes answer 503. Body: the operation's input as JSON; answer: its result as JSON, or
// {error: {code, message}}.
import { Hono } from "hono";
import { createHash, timingSafeEqual } from "node:crypto";
import { Refusal } from "../delivery/refusal.ts";
import { isOperationName, runAdminOperation, type AdminContext } from "../delivery/admin-operations.ts";

const MAX_BODY_BYTES = 64 * 1024;

export function adminRoutes(ctx: AdminContext, adminToken: string | undefined): Hono {
  const app = new Hono();
  app.use("/admin/*", async (c, next) => {
    if (!adminToken) return c.json({ error: { code: "admin_not_configured", message: "set INLET_ADMIN_TOKEN on the consumer to use its admin endpoints" } }, 503);
    const presented = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1];
    if (!presented) return c.json({ error: { code: "unauthorized", message: "Authorization: Bearer <INLET_ADMIN_TOKEN> is required" } }, 401);
    if (!sameSecret(presented, adminToken)) return c.json({ error: { code: "forbidden", message: "the admin token is not INLET_ADMIN_TOKEN" } }, 403);
    await next();
  });
  app.post("/admin/delivery/:operation", async (c) => {
    const name = c.req.param("operation");
    if (!isOperationName(name)) return c.json({ error: { code: "unknown_operation", message: `no admin operation ${JSON.stringify(name)}` } }, 404);
    if (Number(c.req.header("content-length") ?? 0) > MAX_BODY_BYTES) return c.json({ error: { code: "body_too_large", message: `at most ${MAX_BODY_BYTES} bytes` } }, 413);
    const text = await c.req.text();
    if (Buffer.byteLength(text) > MAX_BODY_BYTES) return c.json({ error: { code: "body_too_large", message: `at most ${MAX_BODY_BYTES} bytes` } }, 413);
    let input: unknown = {};
    if (text.trim()) {
      try {
        input = JSON.parse(text);
      } catch {
        return c.json({ error: { code: "invalid_json", message: "the body is not JSON" } }, 400);
      }
    }
    try {
      return c.json({ result: await runAdminOperation(ctx, name, input) });
    } catch (error) {
      if (error instanceof Refusal) return c.json({ error: { code: error.code, message: error.message } }, error.status);
      throw error;
    }
  });
  return app;
}

/** Constant time whatever the lengths: the digests are compared, not the texts. */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}
