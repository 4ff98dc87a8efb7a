// Reads the Worker's configuration (src/env.ts) into `c.var.config` for the routes after it; a
// binding that cannot be parsed answers 503 not_configured, naming it.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import { edgeConfig } from "../env.ts";
import { refuse } from "../http-error.ts";

export const withConfig = createMiddleware<AppEnv>(async (c, next) => {
  const result = edgeConfig(c.env);
  if (!result.ok) refuse(503, "not_configured", result.problem);
  c.set("config", result.config);
  await next();
});
