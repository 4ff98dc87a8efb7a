// Consumers run the reclaim now and then too, so a deployment without the Worker's Cron Trigger
// (local runs, a plain Redis) still returns expired leases and due retries. Reclaim is
// idempotent and cheap; running it from several places is harmless.
import type { PointerQueue } from "../../src/queue/queue.ts";
import { logEvent, type Logger } from "./log.ts";

export function startReclaimer(queue: PointerQueue, log: Logger, intervalMs: number): { stop(): void } {
  const tick = async () => {
    try {
      const result = await queue.reclaim();
      if (result.requeued + result.deadLettered + result.repaired + result.promoted > 0) {
        logEvent(log, "inbound_email_queue_reclaim", { requeued: result.requeued, deadLettered: result.deadLettered, repaired: result.repaired, promoted: result.promoted, jobIds: result.jobIds });
      }
    } catch (error) {
      log.warn({ event: "inbound_email_queue_reclaim_error", err: error }, "reclaim failed; will try again");
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
