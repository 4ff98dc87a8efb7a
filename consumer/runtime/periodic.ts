// A background task on a timer. A run never overlaps the one before, and a failure is logged as
// an error with its code and tried again on the next tick: no background task can crash the
// process (no unhandled rejection, no stopped timer).
import { InletError } from "../domain/errors.ts";
import type { Logger } from "./log.ts";

export interface PeriodicTask {
  /** Run now (if not already running); resolves when that run is over. */
  runNow(): Promise<void>;
  /** No more runs; resolves when a run in progress is over. */
  stop(): Promise<void>;
}

/** `firstRunMs`: when the first run comes (default: one interval after the start). */
export function periodic(name: string, intervalMs: number, log: Logger, task: () => Promise<void>, options: { jitter?: number; firstRunMs?: number } = {}): PeriodicTask {
  let running: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const runNow = () => {
    if (stopped) return Promise.resolve();
    running ??= (async () => {
      try {
        await task();
      } catch (error) {
        log.error({ event: "inbound_email_background_task_failed", task: name, code: error instanceof InletError ? error.code : "unexpected_error", err: error }, `${name} failed; it runs again on its next tick`);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const schedule = (first?: number) => {
    if (stopped) return;
    const spread = options.jitter ? intervalMs * options.jitter * (Math.random() * 2 - 1) : 0;
    timer = setTimeout(() => void runNow().then(() => schedule()), Math.max(1, first ?? intervalMs + spread));
    timer.unref();
  };
  schedule(options.firstRunMs);
  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
