// Graph's validation handshake, on any method: a `validationToken` query parameter is answered
// 200 text/plain with the decoded token (Graph checks the body equals it). The token is opaque
// and echoed verbatim, so the answer says nosniff: no browser may read it as HTML.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";

export const graphHandshake = createMiddleware<AppEnv>(async (c, next) => {
  const token = c.req.query("validationToken");
  if (token === undefined) return next();
  return c.body(token, 200, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
});
