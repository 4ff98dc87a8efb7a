// Graceful shutdown on SIGTERM and SIGINT: stop claiming, let running jobs finish within the
// grace period, release the rest, close connections, exit 0. A second signal exits at once
// (the queue's leases make even that safe: reclaim returns the jobs) — but not one that arrives
// within a moment of the first: a signal sent to a process group reaches this process both
// directly and forwarded by a parent (npm, the `inlet` shim), and that is one request to stop.
import type { Logger } from "./log.ts";

/** Repeats closer together than this are the same request. */
export const SAME_SIGNAL_WITHIN_MS = 1000;

export function stopOnSignals(log: Logger, stop: () => Promise<void>): void {
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < SAME_SIGNAL_WITHIN_MS) return;
      log.warn({ event: "inbound_email_consumer_forced_exit", signal }, "second signal: exiting now");
      log.flush();
      process.exit(130);
    }
    firstAt = Date.now();
    log.info({ event: "inbound_email_consumer_stopping", signal }, "stopping: no new claims, finishing running jobs");
    stop().then(
      () => {
        log.info({ event: "inbound_email_consumer_stopped" }, "stopped");
        log.flush();
        process.exitCode = 0;
        setTimeout(() => process.exit(0), 50).unref();
      },
      (error: unknown) => {
        log.error({ event: "inbound_email_consumer_stop_failed", err: error }, "shutdown failed");
        log.flush();
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
