// How an idle claim loop waits for work. Over TCP it blocks on the wake marker, a sorted set
// with 'ready' at 0 (enqueue set it: work waits now) and 'delayed' at the time the earliest
// retry is due (fail set it). BZPOPMIN hands back whichever member is there at once, whatever
// its score, so a 'delayed' member only tells when a retry is due: the wait goes on listening
// until then, and a job enqueued meanwhile still wakes it within the block time. Over REST
// (no blocking commands) it sleeps. Either way the wait is bounded: it starts at the block time
// and doubles up to the idle maximum while nothing is heard, since a wake can be missed
// (another consumer took it) and a bounded wait then still finds the work.
import type { WakeListener } from "../redis/tcp-client.ts";

export interface IdleWaitOptions {
  /** The first wait, and the wait after any sign of work (seconds). */
  blockSeconds: number;
  /** The longest wait (seconds). */
  idleMaxSeconds: number;
  /** TCP only: block on the wake marker instead of sleeping. */
  wake: WakeListener | undefined;
  /** Ends any wait at once. */
  signal: AbortSignal;
}

export class IdleWait {
  readonly #o: IdleWaitOptions;
  #seconds: number;

  constructor(options: IdleWaitOptions) {
    this.#o = options;
    this.#seconds = options.blockSeconds;
  }

  /** Work came in: the next wait is short again. */
  reset(): void {
    this.#seconds = this.#o.blockSeconds;
  }

  /** A claim failed: wait, longer each time it fails again. */
  async afterFailure(): Promise<void> {
    await sleep(this.#seconds * 1000, this.#o.signal);
    this.#backOff();
  }

  /**
   * The ready list ran dry, and the earliest retry is due in `untilRetryMs` (Infinity: none).
   * Waits for a wake, that retry, or the current bound. Resolves true when the wake marker said
   * 'ready': the claim that follows passes the wake on while work remains.
   */
  async forWork(untilRetryMs: number): Promise<boolean> {
    const { wake, signal, idleMaxSeconds } = this.#o;
    let waitMs = Math.min(this.#seconds * 1000, untilRetryMs);
    if (!wake) {
      await sleep(waitMs, signal);
      this.#backOff();
      return false;
    }
    let retryAt = Date.now() + untilRetryMs;
    let heard = false;
    for (;;) {
      const event = await wake.wait(Math.max(0.01, waitMs / 1000)).catch(() => undefined);
      if (!event) break; // the wait ran out (or the listener closed)
      heard = true;
      if (event.member !== "delayed") {
        this.reset();
        return event.member === "ready";
      }
      const now = Date.now();
      if (event.at <= now || signal.aborted) break;
      // Listen on until the earliest retry known is due, within the idle maximum.
      retryAt = Math.min(retryAt, event.at);
      waitMs = Math.min(retryAt, now + idleMaxSeconds * 1000) - now;
      if (waitMs <= 0) break;
    }
    if (heard) this.reset();
    else this.#backOff();
    return false;
  }

  #backOff(): void {
    this.#seconds = Math.min(this.#o.idleMaxSeconds, this.#seconds * 2);
  }
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
