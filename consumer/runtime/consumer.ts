// The claim loop. Claims while there is capacity, plus a few jobs ahead (prefetch) so the next
// job is at hand when one finishes; acks ride along with the next claim, so a busy consumer
// spends about one round trip per claim batch. When the queue is empty it blocks on the wake
// marker (TCP) or backs off (REST). It renews every held job's lease by heartbeat, gives every
// job a timeout, turns outcomes into ack (processed, skipped) or fail (retry with backoff, then
// dead-letter), and on stop() releases prefetched jobs at once, finishes running jobs within a
// grace period, then releases the rest without losing an attempt.
import type { Claim, Lease, PointerQueue } from "../../src/queue/queue.ts";
import type { WakeListener } from "../redis/tcp-client.ts";
import { InletError } from "./errors.ts";
import { logEvent, type Logger } from "./log.ts";
import { Batcher } from "./batcher.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import { PrefetchBuffer } from "./prefetch-buffer.ts";
import { PrefetchSize } from "./prefetch-size.ts";
import type { JobOutcome } from "./resolver.ts";
import { settle, settlementFor, type HandlerEnding, type SettleContext } from "./settle.ts";

export type JobHandler = (claim: Claim, signal: AbortSignal) => Promise<JobOutcome>;

export interface ConsumerOptions {
  queue: PointerQueue;
  handler: JobHandler;
  log: Logger;
  concurrency?: number;
  /** At most this many jobs claimed ahead of a free slot (default 64; 0 turns it off), so the
   * next job is at hand when one finishes. How many is measured: enough to keep every slot busy
   * for two claim round trips at the jobs' running time, so slow jobs keep about one in hand and
   * only quick ones fill the limit. They wait under a renewed lease, and go back to the queue (no
   * attempt counted) on stop() or when they have waited `prefetchWaitMs`. */
  prefetch?: number;
  /** How long a prefetched job may wait for a slot before another consumer should have it (10 s). */
  prefetchWaitMs?: number;
  /** TCP only: block on the wake marker instead of polling. */
  wake?: WakeListener;
  jobTimeoutMs?: number;
  /** Defaults to a third of the lease TTL. */
  heartbeatMs?: number;
  shutdownGraceMs?: number;
}

interface Running {
  claim: Claim;
  controller: AbortController;
  done: Promise<void>;
  /** The handler has finished; the job is being acked or failed. */
  settling: boolean;
}

/** How a claim ended: with every job asked for, short (the ready list ran dry), or failed;
 * `probing` before the first claim after a wait has come back. */
type ClaimStatus = { status: "full" } | { status: "probing" } | { status: "drained"; untilRetryMs: number } | { status: "failed" };

export interface ConsumerCounters {
  claimed: number;
  acked: number;
  skipped: number;
  retried: number;
  deadLettered: number;
  stale: number;
  released: number;
}

const DEFAULT_PREFETCH = 64;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

export class Consumer {
  readonly counters: ConsumerCounters = { claimed: 0, acked: 0, skipped: 0, retried: 0, deadLettered: 0, stale: 0, released: 0 };
  readonly #o: Required<Omit<ConsumerOptions, "wake">> & { wake: WakeListener | undefined };
  readonly #running = new Map<string, Running>();
  /** Jobs whose handler is still at work; a job stops counting once it is being acked, so the
   * next claim goes out alongside the ack instead of after it. */
  #working = 0;
  readonly #leases: LeaseKeeper;
  readonly #prefetched: PrefetchBuffer;
  readonly #stopping = new AbortController();
  readonly #acks: Batcher<Lease, boolean>;
  readonly #released = new Set<string>();
  /** Wakes a claim loop waiting for room or for a claim to come back. */
  #poke: (() => void) | undefined;
  /** Claims in flight, the jobs they asked for, and how the last one to come back ended. */
  #claimsOut = 0;
  #requested = 0;
  readonly #inFlight = new Set<Promise<ClaimStatus>>();
  #lastClaim: ClaimStatus = { status: "probing" };
  /** Jobs claimed since the loop last waited for work. */
  #claimedSinceIdle = 0;
  readonly #prefetchSize: PrefetchSize;
  #loop: Promise<void> | undefined;
  readonly #settleContext: SettleContext;

  constructor(options: ConsumerOptions) {
    const ttl = options.queue.settings.claimTtlMs;
    this.#o = {
      concurrency: 4,
      jobTimeoutMs: Math.max(1000, ttl * 5),
      heartbeatMs: Math.max(50, Math.floor(ttl / 3)),
      shutdownGraceMs: 25_000,
      prefetchWaitMs: 10_000,
      ...options,
      prefetch: Math.max(0, options.prefetch ?? DEFAULT_PREFETCH),
      wake: options.wake,
    };
    this.#acks = new Batcher((leases) => this.#o.queue.ack(leases));
    this.#leases = new LeaseKeeper({ queue: this.#o.queue, log: this.#o.log, intervalMs: this.#o.heartbeatMs, onLost: (claim) => this.#leaseLost(claim) });
    this.#prefetched = new PrefetchBuffer({
      maxWaitMs: this.#o.prefetchWaitMs,
      giveBack: (claims) => void this.#giveBack(claims).catch((error: unknown) => this.#releaseFailed(error)),
    });
    this.#prefetchSize = new PrefetchSize(this.#o.prefetch, this.#o.concurrency);
    this.#settleContext = {
      ack: (lease) => this.#acks.add(lease),
      fail: (lease, failure) => this.#o.queue.fail(lease, failure),
      counters: this.counters,
      log: this.#o.log,
      ids: (claim) => this.#ids(claim),
      stale: (claim, operation) => this.#stale(claim, operation),
    };
  }

  get active(): number {
    return this.#running.size;
  }

  start(): void {
    if (this.#loop) return;
    this.#leases.start();
    this.#loop = this.#claimLoop().catch((error: unknown) => {
      this.#acks.resume();
      this.#o.log.error({ event: "inbound_email_consumer_crashed", err: error }, "claim loop failed");
      throw error;
    });
  }

  /** Stop claiming; let running jobs finish within the grace period; release the rest. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#o.wake?.close();
    this.#wakeLoop(); // a loop waiting for a free slot stops waiting
    await this.#loop?.catch(() => undefined);
    this.#acks.resume();
    // Prefetched jobs never started: give them back now, for another consumer to take.
    await this.#giveBack(this.#prefetched.close()).catch((error: unknown) => this.#releaseFailed(error));
    const all = () => Promise.all([...this.#running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, this.#o.shutdownGraceMs)))]);
    clearTimeout(timer);
    // Jobs still at work after the grace period go back to the queue; jobs already being acked finish.
    const leftovers = [...this.#running.values()].filter((r) => !r.settling);
    leftovers.forEach((r) => {
      this.#released.add(r.claim.jobId);
      r.controller.abort(new InletError("shutdown", "consumer shutting down", { disposition: "retry" }));
    });
    try {
      await this.#giveBack(leftovers.map((r) => r.claim));
      await all();
    } finally {
      this.#leases.stop();
    }
  }

  #releaseFailed(error: unknown): void {
    this.#o.log.warn({ event: "inbound_email_queue_release_error", err: error }, "could not give jobs back; their leases will expire and reclaim will retry them");
  }

  /** Release jobs to the queue without counting an attempt. */
  async #giveBack(claims: Claim[]): Promise<void> {
    if (claims.length === 0) return;
    for (const claim of claims) this.#leases.untrack(claim);
    const released = await this.#o.queue.release(claims);
    claims.forEach((claim, i) => {
      if (!released[i]) return;
      this.counters.released++;
      logEvent(this.#o.log, "inbound_email_queue_release", this.#ids(claim));
    });
  }

  async #claimLoop(): Promise<void> {
    const { queue, concurrency, wake } = this.#o;
    const { blockSeconds, idleMaxSeconds } = queue.settings;
    // With room for more than one job running at once, claims go out in halves and a second
    // one may be in flight with the first: Redis runs one while this process works through the
    // other's jobs, instead of each waiting for the other. (At concurrency 1 one claim at a
    // time keeps jobs in claim order over REST, whose requests may overtake each other.)
    const pipelined = concurrency > 1;
    let idleSeconds = blockSeconds;
    let woken = false;
    while (!this.#stopping.signal.aborted) {
      const last = this.#lastClaim;
      if (this.#claimsOut === 0 && (last.status === "drained" || last.status === "failed")) {
        // The last claim found the ready list empty, or failed. Wait for work (a wake, a retry
        // coming due, or the idle bound), or back off; acks that come up meanwhile go out alone.
        // Back from waiting, one claim probes before a second one joins it.
        this.#acks.resume();
        this.#lastClaim = { status: "probing" };
        const claimedThisRound = this.#claimedSinceIdle;
        this.#claimedSinceIdle = 0;
        if (last.status === "failed") {
          await sleep(idleSeconds * 1000, this.#stopping.signal);
          idleSeconds = Math.min(idleMaxSeconds, idleSeconds * 2);
          continue;
        }
        // Work came in since the last wait: poll again soon.
        if (claimedThisRound > 0) idleSeconds = blockSeconds;
        const waitMs = Math.min(idleSeconds * 1000, last.untilRetryMs);
        if (wake) {
          const event = await wake.wait(Math.max(0.01, waitMs / 1000)).catch(() => undefined);
          if (event?.member === "ready") woken = true;
          else if (event?.member === "delayed") {
            const ms = event.at - Date.now();
            if (ms > 0) await sleep(Math.min(ms, idleMaxSeconds * 1000), this.#stopping.signal);
          }
          idleSeconds = event ? blockSeconds : Math.min(idleMaxSeconds, idleSeconds * 2);
        } else {
          await sleep(waitMs, this.#stopping.signal);
          idleSeconds = Math.min(idleMaxSeconds, idleSeconds * 2);
        }
        continue;
      }
      const capacity = concurrency + this.#prefetchSize.target();
      const batch = pipelined ? Math.ceil(capacity / 2) : capacity;
      const free = capacity - this.#working - this.#prefetched.size - this.#requested;
      const send = this.#claimsOut === 0 ? free > 0 : pipelined && this.#claimsOut < 2 && last.status === "full" && free >= batch;
      if (!send) {
        // More jobs held than the (re-measured) prefetch allows: a finishing job frees no room
        // for a claim to carry its ack, so acks go out on their own until there is room again.
        if (this.#claimsOut === 0 && free < 0) this.#acks.resume();
        await new Promise<void>((resolve) => (this.#poke = resolve));
        // Let the jobs finishing in this same turn finish too: one claim then refills (and acks) them all.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      const count = Math.min(free, batch);
      this.#claimsOut++;
      this.#requested += count;
      const wokenSent = woken;
      woken = false;
      const claimed = this.#claim(count, wokenSent);
      this.#inFlight.add(claimed);
      void claimed.then((status) => {
        this.#inFlight.delete(claimed);
        this.#claimsOut--;
        this.#requested -= count;
        this.#lastClaim = status;
        if (status.status === "full") idleSeconds = blockSeconds;
        // The wake marker this claim was to pass on is still owed.
        if (status.status === "failed" && wokenSent) woken = true;
        this.#wakeLoop();
      });
    }
    await Promise.all(this.#inFlight);
  }

  /** One claim of `count` jobs, carrying the acks waiting to go out. Never rejects. */
  async #claim(count: number, woken: boolean): Promise<ClaimStatus> {
    const { queue } = this.#o;
    // Acks that come up while this claim is out wait for the next one (or go out on their own
    // when the loop goes idle: resume()).
    const acks = this.#acks.take();
    this.#acks.pause();
    const sentAt = Date.now();
    const started = performance.now();
    let result;
    try {
      result = await queue.claim({ count, woken, ack: acks.map((a) => a.item) });
      this.#prefetchSize.claimTook(performance.now() - started);
      this.#claimedSinceIdle += result.claims.length;
      const acked = result.acked;
      acks.forEach((a, i) => a.resolve(acked[i] === true));
    } catch (error) {
      // Maybe applied, maybe not: send the acks again on their own (a repeat reports stale).
      for (const a of acks) this.#acks.add(a.item).then(a.resolve, a.reject);
      this.#acks.resume();
      this.#o.log.warn({ event: "inbound_email_queue_claim_error", err: error }, "claim failed; backing off");
      return { status: "failed" };
    }
    const leaseUntil = sentAt + queue.settings.claimTtlMs;
    for (const claim of result.claims) {
      this.#leases.track(claim, leaseUntil);
      if (this.#working < this.#o.concurrency) this.#run(claim);
      else this.#prefetched.push(claim);
    }
    for (const rejected of result.rejected) {
      this.counters.deadLettered++;
      logEvent(this.#o.log, "inbound_email_queue_dlq", { jobId: rejected.jobId, reason: rejected.reason }, "warn");
    }
    // Fewer than asked for: the ready list is empty.
    if (result.claims.length + result.rejected.length >= count) return { status: "full" };
    const untilRetryMs = result.nextDelayedAt === undefined ? Infinity : Math.max(0, result.nextDelayedAt - result.now);
    return { status: "drained", untilRetryMs };
  }

  #wakeLoop(): void {
    const poke = this.#poke;
    this.#poke = undefined;
    poke?.();
  }

  #ids(claim: Claim): Record<string, unknown> {
    return { jobId: claim.jobId, provider: claim.job.provider, tenantId: claim.job.tenantId, providerId: claim.job.providerId, attempt: claim.delivery };
  }

  #run(claim: Claim): void {
    const controller = new AbortController();
    const startedAt = Date.now();
    const started = performance.now();
    this.counters.claimed++;
    this.#working++;
    if (this.#o.log.isLevelEnabled("info")) logEvent(this.#o.log, "inbound_email_queue_consume_start", this.#ids(claim));
    const timer = setTimeout(() => controller.abort(new InletError("job_timeout", `job exceeded ${this.#o.jobTimeoutMs} ms`, { disposition: "retry" })), this.#o.jobTimeoutMs);
    const running: Running = { claim, controller, done: Promise.resolve(), settling: false };
    running.done = (async () => {
      let ending: HandlerEnding;
      try {
        ending = { outcome: await raceAbort(this.#o.handler(claim, controller.signal), controller.signal) };
      } catch (failure) {
        ending = { failure };
      } finally {
        clearTimeout(timer);
        this.#prefetchSize.jobTook(performance.now() - started);
        this.#freeSlot();
      }
      if (this.#released.has(claim.jobId)) return; // given back at shutdown: the queue has it again
      running.settling = true;
      await settle(claim, settlementFor(ending), startedAt, this.#settleContext);
    })()
      .catch((error: unknown) => this.#o.log.error({ event: "inbound_email_queue_settle_error", jobId: claim.jobId, err: error }, "could not settle job; its lease will expire and reclaim will retry it"))
      .finally(() => {
        this.#leases.untrack(claim);
        // The same job may have been reclaimed and claimed again meanwhile: leave that run be.
        if (this.#running.get(claim.jobId) !== running) return;
        this.#running.delete(claim.jobId);
        this.#released.delete(claim.jobId);
      });
    this.#running.set(claim.jobId, running);
  }

  /** A slot is free: start the prefetched job that waited longest, unless its lease may have
   * lapsed (renewals failing), since then it may be someone else's. */
  #freeSlot(): void {
    this.#working--;
    if (!this.#stopping.signal.aborted) {
      const margin = Date.now() + this.#o.heartbeatMs;
      let next = this.#prefetched.shift();
      while (next && this.#leases.leaseUntil(next) <= margin) {
        this.#leases.untrack(next);
        this.#stale(next, "start");
        next = this.#prefetched.shift();
      }
      if (next) this.#run(next);
    }
    this.#wakeLoop();
  }

  #stale(claim: Claim, operation: "start" | "ack" | "fail"): void {
    this.counters.stale++;
    this.#o.log.warn({ event: "inbound_email_queue_stale_lease", ...this.#ids(claim), operation }, "lease lost before the job finished; the queue already handed the job on");
  }

  /** The queue handed the job on: a prefetched job never starts, a running one stops (it may
   * have started since the renewal went out). */
  #leaseLost(claim: Claim): void {
    this.#prefetched.remove(claim);
    const running = this.#running.get(claim.jobId);
    if (running?.claim === claim) running.controller.abort(new InletError("lease_lost", "lease expired and was reclaimed", { disposition: "retry" }));
    this.#wakeLoop();
  }
}

/** Resolve with the promise, or reject as soon as the signal aborts (the work may go on, fenced). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener("abort", onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener("abort", onAbort), reject(e)),
    );
  });
}
