// The Inlet edge ingress: authenticate provider notifications, store a pointer, answer fast.
// Every failure goes through onError and is answered {error: {code, message}}.
import { Hono } from "hono";
import type { AppEnv } from "./app-env.ts";
import { edgeConfig, type Env } from "./env.ts";
import { errorResponse, IngressError, logLine } from "./http-error.ts";
import { adminAuth } from "./middleware/admin-auth.ts";
import { withConfig } from "./middleware/config.ts";
import { queueFor } from "./queue-for-env.ts";
import { google } from "./routes/google.ts";
import { imap } from "./routes/imap.ts";
import { microsoft } from "./routes/microsoft.ts";

export const app = new Hono<AppEnv>();

app.get("/healthz", (c) => c.json({ status: "ok" }));

app.use("/stats", withConfig);
app.use("/webhooks/*", withConfig);

app.get("/stats", adminAuth, async (c) => {
  const queue = queueFor(c.var.config);
  try {
    const [depths, counters] = await Promise.all([queue.stats(), queue.ingressCounters()]);
    return c.json({ queue: depths, ingress: counters });
  } catch {
    return errorResponse(c, 503, "store_unavailable", "the queue could not be read");
  }
});

app.route("/webhooks/microsoft", microsoft);
app.route("/webhooks/google", google);
app.route("/webhooks/imap", imap);

app.notFound((c) => errorResponse(c, 404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
app.onError((error, c) => {
  if (error instanceof IngressError) return errorResponse(c, error.status, error.code, error.message);
  logLine({ event: "inbound_email_ingress_error", error: error.message.slice(0, 200) });
  return errorResponse(c, 500, "internal_error", "unexpected error");
});

/** Cron Trigger: return expired leases (counting the attempt), repair, promote due retries. */
export async function scheduled(_controller: ScheduledController, env: Env): Promise<void> {
  const config = edgeConfig(env);
  if (!config.ok) throw new Error(config.problem);
  const result = await queueFor(config.config).reclaim();
  logLine({ event: "inbound_email_queue_reclaim", requeued: result.requeued, deadLettered: result.deadLettered, repaired: result.repaired, promoted: result.promoted, jobIds: result.jobIds });
}

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
