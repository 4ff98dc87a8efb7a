// Keeps alive the lease of every job the consumer holds, running or prefetched, as BullMQ's
// LockManager does for its worker: one renew call per heartbeat for all of them. It also knows,
// by this process's clock, until when each lease is surely ours (counted from when the claim or
// the renewal that set it was sent, so a slow reply only makes it more cautious), so a job that
// waited for a slot can be checked before it starts. A lease the queue says is no longer ours is
// forgotten and reported once through `onLost`.
import type { Claim, PointerQueue } from "../../src/queue/queue.ts";
import type { Logger } from "./log.ts";

export interface LeaseKeeperOptions {
  queue: PointerQueue;
  log: Logger;
  /** Time between heartbeats; well under the lease TTL. */
  intervalMs: number;
  /** The lease was reclaimed: the job may be someone else's now. */
  onLost: (claim: Claim) => void;
}

export class LeaseKeeper {
  readonly #o: LeaseKeeperOptions;
  /** Held claims (by identity: a job claimed again is another claim) → lease end, local clock. */
  readonly #held = new Map<Claim, number>();
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: LeaseKeeperOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#held.size;
  }

  start(): void {
    this.#heartbeat ??= setInterval(() => void this.renew(), this.#o.intervalMs);
  }

  stop(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  /** Keep `claim`'s lease alive from now on; `leaseUntil` by this process's clock. */
  track(claim: Claim, leaseUntil: number): void {
    this.#held.set(claim, leaseUntil);
  }

  /** The job is done with, or given back: stop renewing it. */
  untrack(claim: Claim): void {
    this.#held.delete(claim);
  }

  /** Until when (this process's clock) the lease is surely ours; 0 for a claim not held. */
  leaseUntil(claim: Claim): number {
    return this.#held.get(claim) ?? 0;
  }

  /** One heartbeat: renew every held lease in one call. Never rejects. */
  async renew(): Promise<void> {
    if (this.#held.size === 0) return;
    const claims = [...this.#held.keys()];
    const sentAt = Date.now();
    let renewed: boolean[];
    try {
      ({ renewed } = await this.#o.queue.renew(claims));
    } catch (error) {
      this.#o.log.warn({ event: "inbound_email_queue_renew_error", err: error }, "lease renewal failed; will try again");
      return;
    }
    const leaseUntil = sentAt + this.#o.queue.settings.claimTtlMs;
    claims.forEach((claim, i) => {
      // Finished or given back while the renewal was out: nothing to do.
      if (!this.#held.has(claim)) return;
      if (renewed[i]) {
        this.#held.set(claim, leaseUntil);
        return;
      }
      this.#held.delete(claim);
      this.#o.onLost(claim);
    });
  }
}
