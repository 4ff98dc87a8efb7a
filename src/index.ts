// The Inlet edge ingress: authenticate provider notifications, store a pointer, answer fast.
import { Hono } from "hono";
import type { AppEnv, Env } from "./env.ts";
import { errorResponse, logLine } from "./http-error.ts";
import { adminAuth } from "./middleware/admin-auth.ts";
import { queueFor } from "./queue-for-env.ts";
import { google } from "./routes/google.ts";
import { imap } from "./routes/imap.ts";
import { microsoft } from "./routes/microsoft.ts";

export const app = new Hono<AppEnv>();

app.get("/healthz", (c) => c.json({ status: "ok" }));

app.get("/stats", adminAuth, async (c) => {
  try {
    const queue = queueFor(c.env);
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
  logLine({ event: "inbound_email_ingress_error", error: error.message.slice(0, 200) });
  return errorResponse(c, 500, "internal_error", "unexpected error");
});

/** Cron Trigger: return expired leases (counting the attempt), repair, promote due retries. */
export async function scheduled(_controller: ScheduledController, env: Env): Promise<void> {
  const result = await queueFor(env).reclaim();
  logLine({ event: "inbound_email_queue_reclaim", requeued: result.requeued, deadLettered: result.deadLettered, repaired: result.repaired, promoted: result.promoted, jobIds: result.jobIds });
}

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
