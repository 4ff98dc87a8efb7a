// Consumers run the reclaim now and then too, so a deployment without the Worker's Cron Trigger
// (local runs, a plain Redis) still returns expired leases and due retries. Reclaim is
// idempotent and cheap; running it from several places is harmless. The first run comes soon after
// start (a restarted consumer's own expired claims, a dead replica's), then every interval.
import type { PointerQueue } from "../../src/queue/queue.ts";
import { logEvent, type Logger } from "./log.ts";
import { periodic, type PeriodicTask } from "./periodic.ts";

export function startReclaimer(queue: PointerQueue, log: Logger, intervalMs: number): PeriodicTask {
  const firstRunMs = Math.min(1_000, intervalMs);
  return periodic("reclaim", intervalMs, log, async () => {
    const result = await queue.reclaim();
    if (result.requeued + result.deadLettered + result.repaired + result.promoted > 0) {
      logEvent(log, "inbound_email_queue_reclaim", { requeued: result.requeued, deadLettered: result.deadLettered, repaired: result.repaired, promoted: result.promoted, jobIds: result.jobIds });
    }
  }, { firstRunMs });
}
