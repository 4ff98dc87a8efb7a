// Graceful shutdown on SIGTERM and SIGINT: stop claiming, let running jobs finish within the
// grace period, release the rest, close connections, exit 0. A second signal exits at once
// (the queue's leases make even that safe: reclaim returns the jobs).
import type { Logger } from "./log.ts";

export function stopOnSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ event: "inbound_email_consumer_forced_exit", signal }, "second signal: exiting now");
      process.exit(130);
    }
    stopping = true;
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
