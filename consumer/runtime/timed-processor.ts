// Fetch and processing times of each message, the same way for every provider: a job's resolver
// fetches a message and hands it to processing, so the time from the job's start (or from the
// previous message of the same job: Gmail history can yield several) to the processor's call is
// the fetch, and the processor's call itself is the processing.
import type { MessageProcessor } from "../domain/message.ts";

export interface StageTimer {
  fetched(provider: string, seconds: number): void;
  processed(provider: string, seconds: number): void;
}

/** The processor one job's resolver uses, timing each message; `startedAt` from performance.now(). */
export function timedProcessor(inner: MessageProcessor, provider: string, timer: StageTimer, startedAt = performance.now()): MessageProcessor {
  let since = startedAt;
  return {
    async process(message, signal) {
      const start = performance.now();
      timer.fetched(provider, (start - since) / 1000);
      try {
        return await inner.process(message, signal);
      } finally {
        since = performance.now();
        timer.processed(provider, (since - start) / 1000);
      }
    },
  };
}
