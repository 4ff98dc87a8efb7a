// The claim loop. Claims while there is capacity; when the queue is empty it blocks on the
// wake marker (TCP) or backs off (REST); renews every running job's lease by heartbeat; gives
// every job a timeout; turns outcomes into ack (processed, skipped) or fail (retry with backoff,
// then dead-letter); and on stop() finishes running jobs within a grace period, then releases
// the rest without losing an attempt.
import type { Claim, Lease, PointerQueue } from "../../src/queue/queue.ts";
import type { WakeListener } from "../redis/tcp-client.ts";
import { InletError } from "./errors.ts";
import { logEvent, type Logger } from "./log.ts";
import { Batcher } from "./batcher.ts";
import type { JobOutcome } from "./resolver.ts";

export type JobHandler = (claim: Claim, signal: AbortSignal) => Promise<JobOutcome>;

export interface ConsumerOptions {
  queue: PointerQueue;
  handler: JobHandler;
  log: Logger;
  concurrency?: number;
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

export interface ConsumerCounters {
  claimed: number;
  acked: number;
  skipped: number;
  retried: number;
  deadLettered: number;
  stale: number;
  released: number;
}

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
  readonly #stopping = new AbortController();
  readonly #acks: Batcher<Lease, boolean>;
  readonly #released = new Set<string>();
  #slotFreed: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: ConsumerOptions) {
    const ttl = options.queue.settings.claimTtlMs;
    this.#o = {
      concurrency: 4,
      jobTimeoutMs: Math.max(1000, ttl * 5),
      heartbeatMs: Math.max(50, Math.floor(ttl / 3)),
      shutdownGraceMs: 25_000,
      ...options,
      wake: options.wake,
    };
    this.#acks = new Batcher((leases) => this.#o.queue.ack(leases));
  }

  get active(): number {
    return this.#running.size;
  }

  start(): void {
    if (this.#loop) return;
    this.#heartbeat = setInterval(() => void this.#renew(), this.#o.heartbeatMs);
    this.#loop = this.#claimLoop().catch((error: unknown) => {
      this.#o.log.error({ event: "inbound_email_consumer_crashed", err: error }, "claim loop failed");
      throw error;
    });
  }

  /** Stop claiming; let running jobs finish within the grace period; release the rest. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#o.wake?.close();
    await this.#loop?.catch(() => undefined);
    const all = () => Promise.all([...this.#running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, this.#o.shutdownGraceMs)))]);
    clearTimeout(timer);
    // Jobs still at work after the grace period go back to the queue; jobs already being acked finish.
    const leftovers = [...this.#running.values()].filter((r) => !r.settling);
    if (leftovers.length > 0) {
      leftovers.forEach((r) => {
        this.#released.add(r.claim.jobId);
        r.controller.abort(new InletError("shutdown", "consumer shutting down", { disposition: "retry" }));
      });
      const released = await this.#o.queue.release(leftovers.map((r) => r.claim));
      leftovers.forEach((r, i) => {
        if (!released[i]) return;
        this.counters.released++;
        logEvent(this.#o.log, "inbound_email_queue_release", this.#ids(r.claim));
      });
    }
    await all();
    clearInterval(this.#heartbeat);
  }

  async #claimLoop(): Promise<void> {
    const { queue, concurrency, wake } = this.#o;
    const { blockSeconds, idleMaxSeconds } = queue.settings;
    let idleSeconds = blockSeconds;
    let woken = false;
    while (!this.#stopping.signal.aborted) {
      const free = concurrency - this.#working;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.#slotFreed = resolve));
        continue;
      }
      let result;
      try {
        result = await queue.claim({ count: free, woken });
      } catch (error) {
        this.#o.log.warn({ event: "inbound_email_queue_claim_error", err: error }, "claim failed; backing off");
        await sleep(idleSeconds * 1000, this.#stopping.signal);
        idleSeconds = Math.min(idleMaxSeconds, idleSeconds * 2);
        continue;
      }
      woken = false;
      for (const claim of result.claims) this.#run(claim);
      for (const rejected of result.rejected) {
        this.counters.deadLettered++;
        logEvent(this.#o.log, "inbound_email_queue_dlq", { jobId: rejected.jobId, reason: rejected.reason }, "warn");
      }
      if (result.claims.length + result.rejected.length >= free) {
        idleSeconds = blockSeconds;
        continue; // there may be more: claim again as soon as there is room
      }
      // The ready list is empty. Wait for work: a wake, a retry coming due, or the idle bound.
      if (result.claims.length > 0) idleSeconds = blockSeconds;
      const untilRetry = result.nextDelayedAt === undefined ? Infinity : Math.max(0, result.nextDelayedAt - result.now);
      const waitMs = Math.min(idleSeconds * 1000, untilRetry);
      if (wake) {
        const event = await wake.wait(Math.max(0.01, waitMs / 1000)).catch(() => undefined);
        if (event?.member === "ready") woken = true;
        else if (event?.member === "delayed") {
          const ms = event.at - Date.now();
          if (ms > 0) await sleep(Math.min(ms, idleMaxSeconds * 1000), this.#stopping.signal);
        }
        if (!event) idleSeconds = Math.min(idleMaxSeconds, idleSeconds * 2);
        else idleSeconds = blockSeconds;
      } else {
        await sleep(waitMs, this.#stopping.signal);
        idleSeconds = Math.min(idleMaxSeconds, idleSeconds * 2);
      }
    }
  }

  #ids(claim: Claim): Record<string, unknown> {
    return { jobId: claim.jobId, provider: claim.job.provider, tenantId: claim.job.tenantId, providerId: claim.job.providerId, attempt: claim.delivery };
  }

  #run(claim: Claim): void {
    const controller = new AbortController();
    const startedAt = Date.now();
    this.counters.claimed++;
    this.#working++;
    if (this.#o.log.isLevelEnabled("info")) logEvent(this.#o.log, "inbound_email_queue_consume_start", this.#ids(claim));
    const timer = setTimeout(() => controller.abort(new InletError("job_timeout", `job exceeded ${this.#o.jobTimeoutMs} ms`, { disposition: "retry" })), this.#o.jobTimeoutMs);
    const running: Running = { claim, controller, done: Promise.resolve(), settling: false };
    running.done = (async () => {
      let outcome: JobOutcome | undefined;
      let failure: unknown;
      try {
        outcome = await raceAbort(this.#o.handler(claim, controller.signal), controller.signal);
      } catch (error) {
        failure = error;
      } finally {
        clearTimeout(timer);
        this.#freeSlot();
      }
      if (this.#released.has(claim.jobId)) return; // given back at shutdown: the queue has it again
      running.settling = true;
      await this.#settle(claim, startedAt, outcome, failure);
    })()
      .catch((error: unknown) => this.#o.log.error({ event: "inbound_email_queue_settle_error", jobId: claim.jobId, err: error }, "could not settle job; its lease will expire and reclaim will retry it"))
      .finally(() => {
        this.#running.delete(claim.jobId);
        this.#released.delete(claim.jobId);
      });
    this.#running.set(claim.jobId, running);
  }

  #freeSlot(): void {
    this.#working--;
    const freed = this.#slotFreed;
    this.#slotFreed = undefined;
    freed?.();
  }

  async #settle(claim: Claim, startedAt: number, outcome: JobOutcome | undefined, failure: unknown): Promise<void> {
    const { queue, log } = this.#o;
    const fields = () => ({ ...this.#ids(claim), durationMs: Date.now() - startedAt });
    const error = failure === undefined ? undefined : failure instanceof InletError ? failure : new InletError("unexpected_error", errorMessage(failure), { disposition: "retry", cause: failure });

    if (outcome || error?.disposition === "skip") {
      const reason = outcome?.outcome === "skipped" ? outcome.reason : error?.code;
      const acked = await this.#acks.add(claim);
      if (!acked) return this.#stale(claim, "ack");
      if (reason) {
        this.counters.skipped++;
        logEvent(log, "inbound_email_queue_skip", { ...fields(), outcome: "skipped", reason });
      } else {
        this.counters.acked++;
        logEvent(log, "inbound_email_queue_ack", { ...fields(), outcome: "processed", messages: outcome?.outcome === "processed" ? outcome.messages.length : 0 });
      }
      return;
    }
    if (!error) return;
    const result = await queue.fail(claim, { error: error.code, permanent: error.disposition === "dead_letter", ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) });
    if (result.status === "stale") return this.#stale(claim, "fail");
    // Retries and dead letters are worth a line at any level.
    if (result.status === "retry") {
      this.counters.retried++;
      logEvent(log, "inbound_email_queue_retry", { ...fields(), outcome: "retry", reason: error.code, retryAt: new Date(result.dueAt).toISOString() }, "warn");
    } else {
      this.counters.deadLettered++;
      logEvent(log, "inbound_email_queue_dlq", { ...fields(), outcome: "dead_letter", reason: error.code, attempts: result.attempts }, "error");
    }
  }

  #stale(claim: Claim, what: string): void {
    this.counters.stale++;
    this.#o.log.warn({ event: "inbound_email_queue_stale_lease", ...this.#ids(claim), operation: what }, "lease lost before the job finished; the queue already handed the job on");
  }

  async #renew(): Promise<void> {
    const running = [...this.#running.values()];
    if (running.length === 0) return;
    try {
      const { renewed } = await this.#o.queue.renew(running.map((r) => r.claim));
      renewed.forEach((ok, i) => {
        const lost = running[i];
        if (!ok && lost) lost.controller.abort(new InletError("lease_lost", "lease expired and was reclaimed", { disposition: "retry" }));
      });
    } catch (error) {
      this.#o.log.warn({ event: "inbound_email_queue_renew_error", err: error }, "lease renewal failed; will try again");
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
