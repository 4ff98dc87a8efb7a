// The claim loop. Claims while there is capacity, plus a few jobs ahead (prefetch) so the next
// job is at hand when one finishes; acks ride along with the next claim, so a busy consumer
// spends about one round trip per claim batch. When the queue is empty it waits for work
// (idle-wait.ts: the wake marker over TCP, backing off over REST). Each concern has its home:
//   lease-keeper.ts     renews every held job's lease by heartbeat, reports leases lost
//   prefetch-buffer.ts  jobs claimed ahead of a free slot, handed back when they wait too long
//   prefetch-size.ts    how many to claim ahead, measured from job and claim times
//   settle.ts           outcome → ack (processed, skipped) or fail (retry, then dead-letter)
// This file runs the loop and the jobs: a timeout per job, and on stop() prefetched jobs go back
// at once, running jobs finish within a grace period, and the rest are released without losing
// an attempt.
import type { Claim, Lease, PointerQueue } from "../../src/queue/queue.ts";
import { DEFAULT_CONCURRENCY, DEFAULT_PREFETCH } from "../config.ts";
import type { WakeListener } from "../redis/tcp-client.ts";
import { Batcher } from "./batcher.ts";
import { InletError } from "../domain/errors.ts";
import { IdleWait } from "./idle-wait.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import { logEvent, type Logger } from "./log.ts";
import { PrefetchBuffer } from "./prefetch-buffer.ts";
import { PrefetchSize } from "./prefetch-size.ts";
import type { JobOutcome } from "../domain/job.ts";
import { settle, settlementFor, type HandlerEnding, type JobObserver, type SettleContext } from "./settle.ts";

export type JobHandler = (claim: Claim, signal: AbortSignal) => Promise<JobOutcome>;

export interface ConsumerOptions {
  queue: PointerQueue;
  handler: JobHandler;
  log: Logger;
  /** Jobs run at once (default 8, as the configuration's). */
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
  /** Told of every settled job (metrics, mailbox health). */
  observers?: readonly JobObserver[];
}

export interface ConsumerCounters {
  claimed: number;
  acked: number;
  skipped: number;
  retried: number;
  deadLettered: number;
  stale: number;
  released: number;
}

/** A job handed to the handler. */
interface Running {
  claim: Claim;
  controller: AbortController;
  done: Promise<void>;
  /** working: the handler runs. settling: it has finished and the job is being acked or failed.
   * released: given back at shutdown while working, so it is not settled. */
  phase: "working" | "settling" | "released";
}

/** How a claim ended: with every job asked for, short (the ready list ran dry), or failed;
 * `probing` before the first claim after a wait has come back. */
type ClaimStatus = { status: "full" } | { status: "probing" } | { status: "drained"; untilRetryMs: number } | { status: "failed" };

/** Everything the claim loop decides by. */
interface LoopState {
  /** Jobs whose handler is still at work. A job stops counting once it is being acked, so the
   * next claim goes out alongside the ack instead of after it. */
  working: number;
  /** Claims sent and not back yet, and the jobs they asked for. */
  claimsOut: number;
  requested: number;
  readonly inFlight: Set<Promise<ClaimStatus>>;
  /** How the last claim to come back ended. */
  last: ClaimStatus;
  /** Jobs claimed since the loop last waited for work. */
  claimedSinceIdle: number;
  /** The loop was woken by a 'ready' wake: the next claim passes it on while work remains. */
  woken: boolean;
  /** Wakes the loop while it waits for room or for a claim to come back. */
  poke: (() => void) | undefined;
}

export class Consumer {
  readonly counters: ConsumerCounters = { claimed: 0, acked: 0, skipped: 0, retried: 0, deadLettered: 0, stale: 0, released: 0 };
  readonly #o: Required<Omit<ConsumerOptions, "wake" | "observers">> & { wake: WakeListener | undefined };
  readonly #running = new Map<string, Running>();
  readonly #stopping = new AbortController();
  readonly #acks: Batcher<Lease, boolean>;
  readonly #leases: LeaseKeeper;
  readonly #prefetched: PrefetchBuffer;
  readonly #prefetchSize: PrefetchSize;
  readonly #idle: IdleWait;
  readonly #settleContext: SettleContext;
  readonly #loop: LoopState = { working: 0, claimsOut: 0, requested: 0, inFlight: new Set(), last: { status: "probing" }, claimedSinceIdle: 0, woken: false, poke: undefined };
  #loopDone: Promise<void> | undefined;

  constructor(options: ConsumerOptions) {
    const ttl = options.queue.settings.claimTtlMs;
    this.#o = {
      concurrency: DEFAULT_CONCURRENCY,
      jobTimeoutMs: Math.max(1000, ttl * 5),
      heartbeatMs: Math.max(50, Math.floor(ttl / 3)),
      shutdownGraceMs: 25_000,
      prefetchWaitMs: 10_000,
      ...options,
      prefetch: Math.max(0, options.prefetch ?? DEFAULT_PREFETCH),
      wake: options.wake,
    };
    const { queue, log, concurrency } = this.#o;
    this.#acks = new Batcher((leases) => queue.ack(leases));
    this.#leases = new LeaseKeeper({ queue, log, intervalMs: this.#o.heartbeatMs, onLost: (claim) => this.#leaseLost(claim) });
    this.#prefetched = new PrefetchBuffer({
      maxWaitMs: this.#o.prefetchWaitMs,
      giveBack: (claims) => void this.#giveBack(claims).catch((error: unknown) => this.#releaseFailed(error)),
    });
    this.#prefetchSize = new PrefetchSize(this.#o.prefetch, concurrency);
    this.#idle = new IdleWait({ blockSeconds: queue.settings.blockSeconds, idleMaxSeconds: queue.settings.idleMaxSeconds, wake: this.#o.wake, signal: this.#stopping.signal });
    this.#settleContext = {
      ack: (lease) => this.#acks.add(lease),
      fail: (lease, failure) => queue.fail(lease, failure),
      counters: this.counters,
      log,
      ids: (claim) => this.#ids(claim),
      stale: (claim, operation) => this.#stale(claim, operation),
      ...(options.observers?.length ? { observers: options.observers } : {}),
    };
  }

  get active(): number {
    return this.#running.size;
  }

  start(): void {
    if (this.#loopDone) return;
    this.#leases.start();
    this.#loopDone = this.#claimLoop().catch((error: unknown) => {
      this.#acks.resume();
      this.#o.log.error({ event: "inbound_email_consumer_crashed", err: error }, "claim loop failed");
      throw error;
    });
  }

  /** Stop claiming; let running jobs finish within the grace period; release the rest. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#o.wake?.close();
    this.#pokeLoop(); // a loop waiting for a free slot stops waiting
    await this.#loopDone?.catch(() => undefined);
    this.#acks.resume();
    // Prefetched jobs never started: give them back now, for another consumer to take.
    await this.#giveBack(this.#prefetched.close()).catch((error: unknown) => this.#releaseFailed(error));
    const all = () => Promise.all([...this.#running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, this.#o.shutdownGraceMs)))]);
    clearTimeout(timer);
    // Jobs still at work after the grace period go back to the queue; jobs already being acked finish.
    const leftovers = [...this.#running.values()].filter((r) => r.phase === "working");
    for (const r of leftovers) {
      r.phase = "released";
      r.controller.abort(new InletError("shutdown", "consumer shutting down", { disposition: "retry" }));
    }
    try {
      await this.#giveBack(leftovers.map((r) => r.claim));
      await all();
    } finally {
      this.#leases.stop();
    }
  }

  async #claimLoop(): Promise<void> {
    const { concurrency } = this.#o;
    const loop = this.#loop;
    // With room for more than one job running at once, claims go out in halves and a second
    // one may be in flight with the first: Redis runs one while this process works through the
    // other's jobs, instead of each waiting for the other. (At concurrency 1 one claim at a
    // time keeps jobs in claim order over REST, whose requests may overtake each other.)
    const pipelined = concurrency > 1;
    while (!this.#stopping.signal.aborted) {
      const last = loop.last;
      if (loop.claimsOut === 0 && (last.status === "drained" || last.status === "failed")) {
        await this.#waitForWork(last);
        continue;
      }
      const capacity = concurrency + this.#prefetchSize.target();
      const batch = pipelined ? Math.ceil(capacity / 2) : capacity;
      const free = capacity - loop.working - this.#prefetched.size - loop.requested;
      const send = loop.claimsOut === 0 ? free > 0 : pipelined && loop.claimsOut < 2 && last.status === "full" && free >= batch;
      if (!send) {
        // More jobs held than the (re-measured) prefetch allows: a finishing job frees no room
        // for a claim to carry its ack, so acks go out on their own until there is room again.
        if (loop.claimsOut === 0 && free < 0) this.#acks.resume();
        await new Promise<void>((resolve) => (loop.poke = resolve));
        // Let the jobs finishing in this same turn finish too: one claim then refills (and acks) them all.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      this.#sendClaim(Math.min(free, batch));
    }
    await Promise.all(loop.inFlight);
  }

  /** The last claim found the ready list empty, or failed. Wait for work (a wake, a retry coming
   * due, or the idle bound), or back off; acks that come up meanwhile go out alone. Back from
   * waiting, one claim probes before a second one joins it. */
  async #waitForWork(last: Extract<ClaimStatus, { status: "drained" | "failed" }>): Promise<void> {
    const loop = this.#loop;
    this.#acks.resume();
    loop.last = { status: "probing" };
    const claimedThisRound = loop.claimedSinceIdle;
    loop.claimedSinceIdle = 0;
    if (last.status === "failed") return this.#idle.afterFailure();
    // Work came in since the last wait: poll again soon.
    if (claimedThisRound > 0) this.#idle.reset();
    if (await this.#idle.forWork(last.untilRetryMs)) loop.woken = true;
  }

  #sendClaim(count: number): void {
    const loop = this.#loop;
    loop.claimsOut++;
    loop.requested += count;
    const woken = loop.woken;
    loop.woken = false;
    const claimed = this.#claim(count, woken);
    loop.inFlight.add(claimed);
    void claimed.then((status) => {
      loop.inFlight.delete(claimed);
      loop.claimsOut--;
      loop.requested -= count;
      loop.last = status;
      if (status.status === "full") this.#idle.reset();
      // The wake marker this claim was to pass on is still owed.
      if (status.status === "failed" && woken) loop.woken = true;
      this.#pokeLoop();
    });
  }

  /** One claim of `count` jobs, carrying the acks waiting to go out. Never rejects. */
  async #claim(count: number, woken: boolean): Promise<ClaimStatus> {
    const { queue, concurrency } = this.#o;
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
      this.#loop.claimedSinceIdle += result.claims.length;
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
      if (this.#loop.working < concurrency) this.#run(claim);
      else this.#prefetched.push(claim);
    }
    for (const rejected of result.rejected) {
      this.counters.deadLettered++;
      logEvent(this.#o.log, "inbound_email_queue_dlq", { jobId: rejected.jobId, reason: rejected.reason }, "warn");
    }
    // Fewer than asked for: nothing else is ready (or what is belongs to tenants at their
    // max-inflight; the first of their jobs to finish sets the wake marker).
    if (result.claims.length + result.rejected.length >= count) return { status: "full" };
    const untilRetryMs = result.nextDelayedAt === undefined ? Infinity : Math.max(0, result.nextDelayedAt - result.now);
    return { status: "drained", untilRetryMs };
  }

  #run(claim: Claim): void {
    const { handler, jobTimeoutMs, log } = this.#o;
    const controller = new AbortController();
    const startedAt = Date.now();
    const started = performance.now();
    this.counters.claimed++;
    this.#loop.working++;
    if (log.isLevelEnabled("info")) logEvent(log, "inbound_email_queue_consume_start", this.#ids(claim));
    const timer = setTimeout(() => controller.abort(new InletError("job_timeout", `job exceeded ${jobTimeoutMs} ms`, { disposition: "retry" })), jobTimeoutMs);
    const running: Running = { claim, controller, done: Promise.resolve(), phase: "working" };
    running.done = (async () => {
      let ending: HandlerEnding;
      try {
        ending = { outcome: await raceAbort(handler(claim, controller.signal), controller.signal) };
      } catch (failure) {
        ending = { failure };
      } finally {
        clearTimeout(timer);
        this.#prefetchSize.jobTook(performance.now() - started);
        this.#freeSlot();
      }
      if (running.phase === "released") return; // given back at shutdown: the queue has it again
      running.phase = "settling";
      await settle(claim, settlementFor(ending), startedAt, this.#settleContext);
    })()
      .catch((error: unknown) => log.error({ event: "inbound_email_queue_settle_error", jobId: claim.jobId, err: error }, "could not settle job; its lease will expire and reclaim will retry it"))
      .finally(() => {
        this.#leases.untrack(claim);
        // The same job may have been reclaimed and claimed again meanwhile: leave that run be.
        if (this.#running.get(claim.jobId) === running) this.#running.delete(claim.jobId);
      });
    this.#running.set(claim.jobId, running);
  }

  /** A slot is free: start the prefetched job that waited longest, unless its lease may have
   * lapsed (renewals failing), since then it may be someone else's. */
  #freeSlot(): void {
    this.#loop.working--;
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
    this.#pokeLoop();
  }

  /** The queue handed the job on: a prefetched job never starts, a running one stops (it may
   * have started since the renewal went out). */
  #leaseLost(claim: Claim): void {
    this.#prefetched.remove(claim);
    const running = this.#running.get(claim.jobId);
    if (running?.claim === claim) running.controller.abort(new InletError("lease_lost", "lease expired and was reclaimed", { disposition: "retry" }));
    this.#pokeLoop();
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

  #releaseFailed(error: unknown): void {
    this.#o.log.warn({ event: "inbound_email_queue_release_error", err: error }, "could not give jobs back; their leases will expire and reclaim will retry them");
  }

  #pokeLoop(): void {
    const poke = this.#loop.poke;
    this.#loop.poke = undefined;
    poke?.();
  }

  #ids(claim: Claim): Record<string, unknown> {
    return { jobId: claim.jobId, provider: claim.job.provider, tenantId: claim.job.tenantId, providerId: claim.job.providerId, attempt: claim.delivery };
  }

  #stale(claim: Claim, operation: "start" | "ack" | "fail"): void {
    this.counters.stale++;
    this.#o.log.warn({ event: "inbound_email_queue_stale_lease", ...this.#ids(claim), operation }, "lease lost before the job finished; the queue already handed the job on");
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
