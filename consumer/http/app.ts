// The routes the consumer's HTTP server serves, composed from one module per concern.
import { Hono } from "hono";
import { healthRoutes, type ReadinessCheck } from "./health.ts";
import { metricsRoutes } from "./metrics.ts";
import { consoleRoutes, type ConsoleParts } from "./console/routes.ts";
import type { InletMetrics } from "../metrics/metrics.ts";
import type { DeliveryOperations } from "../operations/deliveries.ts";
import type { Logger } from "../runtime/log.ts";
import { deliveryRoutes, type DeliveryRoutesOptions } from "./delivery-routes.ts";

export interface HttpAppParts {
  readiness: readonly ReadinessCheck[];
  log: Logger;
  /** GET /metrics. */
  metrics?: InletMetrics;
  /** /console (what it reads and acts on; it takes `deliveries` and `log` from here). */
  console?: Omit<ConsoleParts, "deliveries" | "log">;
  /** Webhook delivery (the console's deliveries page, the metrics' webhook series); absent: not configured. */
  deliveries?: DeliveryOperations;
  /** The read API and the delivery admin endpoints (absent: not served). */
  delivery?: DeliveryRoutesOptions;
}

export function createHttpApp(parts: HttpAppParts): Hono {
  const app = new Hono();
  app.route("/", healthRoutes(parts.readiness));
  if (parts.metrics) app.route("/", metricsRoutes(parts.metrics));
  if (parts.console) app.route("/console", consoleRoutes({ ...parts.console, log: parts.log, ...(parts.deliveries ? { deliveries: parts.deliveries } : {}) }));
  if (parts.delivery) app.route("/", deliveryRoutes(parts.delivery));
  app.notFound((c) => c.json({ error: { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((error, c) => {
    parts.log.error({ event: "inbound_email_http_error", method: c.req.method, path: c.req.path, err: error }, "an HTTP request failed");
    return c.json({ error: { code: "internal_error", message: "the request failed on the server; the consumer's log has the details" } }, 500);
  });
  return app;
}
