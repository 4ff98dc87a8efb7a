// GET /metrics: the Prometheus text exposition of the consumer's registry (consumer/metrics/).
import { Hono } from "hono";
import type { InletMetrics } from "../metrics/metrics.ts";

export function metricsRoutes(metrics: InletMetrics): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => {
    const text = await metrics.text();
    return c.body(text, 200, { "content-type": metrics.contentType, "cache-control": "no-store" });
  });
  return app;
}
