// Jobs claimed ahead of a free slot wait here, in claim order, so the next job is at hand the
// moment a slot frees. Their leases are kept alive meanwhile (LeaseKeeper); this buffer only
// decides how long a job may wait and hands back the ones that waited too long.
//
// Modes:
//
//   empty    Nothing waits and no timer is set.
//   holding  Jobs wait. One timer is set for when the oldest will have waited `maxWaitMs`. When
//            it fires, every job that has waited that long is handed to `giveBack` (for release
//            to the queue, no attempt counted): the slots are busy with slow work and another
//            consumer may have room. The claim loop is not woken for them, since claiming in
//            their place would only hold other jobs back the same way. The timer is set again
//            for the new oldest job.
//   closed   Shutdown: close() takes every waiting job at once (the caller releases them) and
//            clears the timer. Final: a job pushed after that goes straight to `giveBack`.
//
//   empty   ──push──────────────────────────▶ holding
//   holding ──shift / remove / expiry of the last job──▶ empty
//   empty | holding ──close──────────────────▶ closed
import type { Claim } from "../../src/queue/queue.ts";

export type PrefetchMode = "empty" | "holding" | "closed";

export interface PrefetchBufferOptions {
  /** How long a job may wait for a slot before another consumer should have it. */
  maxWaitMs: number;
  /** Takes the jobs that waited too long (and any pushed after close). */
  giveBack: (claims: Claim[]) => void;
}

interface Waiting {
  claim: Claim;
  since: number;
}

export class PrefetchBuffer {
  readonly #o: PrefetchBufferOptions;
  #waiting: Waiting[] = [];
  #closed = false;
  #expiry: NodeJS.Timeout | undefined;

  constructor(options: PrefetchBufferOptions) {
    this.#o = options;
  }

  get mode(): PrefetchMode {
    if (this.#closed) return "closed";
    return this.#waiting.length > 0 ? "holding" : "empty";
  }

  get size(): number {
    return this.#waiting.length;
  }

  push(claim: Claim): void {
    if (this.#closed) return this.#o.giveBack([claim]);
    this.#waiting.push({ claim, since: Date.now() });
    this.#expiry ??= setTimeout(() => this.#expire(), this.#o.maxWaitMs);
  }

  /** The job that has waited longest, taken out; undefined when none waits (or closed). */
  shift(): Claim | undefined {
    const next = this.#waiting.shift();
    if (this.#waiting.length === 0) this.#clearTimer();
    return next?.claim;
  }

  /** Take one job out (its lease was lost); false when it was not waiting here. */
  remove(claim: Claim): boolean {
    const i = this.#waiting.findIndex((w) => w.claim === claim);
    if (i < 0) return false;
    this.#waiting.splice(i, 1);
    if (this.#waiting.length === 0) this.#clearTimer();
    return true;
  }

  /** Close for good and take every waiting job, in claim order. */
  close(): Claim[] {
    this.#closed = true;
    this.#clearTimer();
    return this.#waiting.splice(0).map((w) => w.claim);
  }

  #expire(): void {
    this.#expiry = undefined;
    const limit = Date.now() - this.#o.maxWaitMs;
    const expired = this.#waiting.filter((w) => w.since <= limit);
    this.#waiting = this.#waiting.filter((w) => w.since > limit);
    const oldest = this.#waiting[0];
    if (oldest) this.#expiry = setTimeout(() => this.#expire(), Math.max(1, oldest.since + this.#o.maxWaitMs - Date.now()));
    if (expired.length > 0) this.#o.giveBack(expired.map((w) => w.claim));
  }

  #clearTimer(): void {
    clearTimeout(this.#expiry);
    this.#expiry = undefined;
  }
}
