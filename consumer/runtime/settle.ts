// How a finished job leaves the consumer. `settlementFor` is the whole policy, a plain mapping:
//
//   handler returned processed                → ack  (inbound_email_queue_ack)
//   handler returned skipped with a reason    → ack  (inbound_email_queue_skip, the reason)
//   handler threw an InletError, disposition:
//     skip                                    → ack  (skip, the error's code as reason)
//     retry                                   → fail: retry with backoff, dead-letter at max attempts
//     dead_letter                             → fail, permanent: dead-letter at once
//   handler threw anything else               → fail as `unexpected_error` (retry)
//
// `settle` carries the settlement out against the queue, counts it and logs it. A stale lease
// (the job was reclaimed meanwhile, maybe handed to someone else) changes nothing in the queue
// and is reported by `stale`.
import type { Claim, FailResult, Lease } from "../../src/queue/queue.ts";
import { InletError } from "../domain/errors.ts";
import { logEvent, type Logger } from "./log.ts";
import type { JobOutcome } from "../domain/job.ts";

export type Settlement =
  | { action: "ack"; outcome: "processed"; messages: number }
  | { action: "ack"; outcome: "skipped"; reason: string }
  | { action: "fail"; error: InletError };

/** How the handler ended: with an outcome, or by throwing (or being aborted) with `failure`. */
export type HandlerEnding = { outcome: JobOutcome } | { failure: unknown };

export function settlementFor(ending: HandlerEnding): Settlement {
  if ("outcome" in ending) {
    const { outcome } = ending;
    return outcome.outcome === "skipped" ? { action: "ack", outcome: "skipped", reason: outcome.reason } : { action: "ack", outcome: "processed", messages: outcome.messages.length };
  }
  const error = asInletError(ending.failure);
  if (error.disposition === "skip") return { action: "ack", outcome: "skipped", reason: error.code };
  return { action: "fail", error };
}

export function asInletError(failure: unknown): InletError {
  if (failure instanceof InletError) return failure;
  return new InletError("unexpected_error", failure instanceof Error ? failure.message : String(failure), { disposition: "retry", cause: failure });
}

/** How a job settled, as observers see it (metrics, mailbox health). */
export type JobResult =
  | { outcome: "processed"; messages: number }
  | { outcome: "skipped"; reason: string }
  | { outcome: "retry" | "dead_letter"; error: InletError };

/** Told of every job once it has settled in the queue (not of stale ones). Called synchronously on
 * the settle path: an observer only records in memory, and a throw is ignored. */
export interface JobObserver {
  settled(claim: Claim, result: JobResult, durationMs: number): void;
}

export interface SettleCounters {
  acked: number;
  skipped: number;
  retried: number;
  deadLettered: number;
}

export interface SettleContext {
  /** Acks go through the consumer's batcher, to ride along with its next claim. */
  ack(lease: Lease): Promise<boolean>;
  fail(lease: Lease, failure: { error: string; permanent: boolean; retryAfterMs?: number }): Promise<FailResult>;
  counters: SettleCounters;
  log: Logger;
  /** The job's identifiers, for every log line. */
  ids(claim: Claim): Record<string, unknown>;
  /** The lease was lost before `operation` could take effect. */
  stale(claim: Claim, operation: "ack" | "fail"): void;
  observers?: readonly JobObserver[];
}

function tell(context: SettleContext, claim: Claim, result: JobResult, startedAt: number): void {
  if (!context.observers) return;
  const durationMs = Date.now() - startedAt;
  for (const observer of context.observers) {
    try {
      observer.settled(claim, result, durationMs);
    } catch {
      // An observer's trouble never changes how a job settles.
    }
  }
}

/** Carry `settlement` out for a job that started at `startedAt` (ms). */
export async function settle(claim: Claim, settlement: Settlement, startedAt: number, context: SettleContext): Promise<void> {
  const { counters, log } = context;
  const fields = () => ({ ...context.ids(claim), durationMs: Date.now() - startedAt });
  if (settlement.action === "ack") {
    if (!(await context.ack(claim))) return context.stale(claim, "ack");
    if (settlement.outcome === "skipped") {
      counters.skipped++;
      logEvent(log, "inbound_email_queue_skip", { ...fields(), outcome: "skipped", reason: settlement.reason });
      tell(context, claim, { outcome: "skipped", reason: settlement.reason }, startedAt);
    } else {
      counters.acked++;
      logEvent(log, "inbound_email_queue_ack", { ...fields(), outcome: "processed", messages: settlement.messages });
      tell(context, claim, { outcome: "processed", messages: settlement.messages }, startedAt);
    }
    return;
  }
  const { error } = settlement;
  const result = await context.fail(claim, { error: error.code, permanent: error.disposition === "dead_letter", ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) });
  if (result.status === "stale") return context.stale(claim, "fail");
  // Retries and dead letters are worth a line at any level.
  if (result.status === "retry") {
    counters.retried++;
    logEvent(log, "inbound_email_queue_retry", { ...fields(), outcome: "retry", reason: error.code, retryAt: new Date(result.dueAt).toISOString() }, "warn");
    tell(context, claim, { outcome: "retry", error }, startedAt);
  } else {
    counters.deadLettered++;
    logEvent(log, "inbound_email_queue_dlq", { ...fields(), outcome: "dead_letter", reason: error.code, attempts: result.attempts }, "error");
    tell(context, claim, { outcome: "dead_letter", error }, startedAt);
  }
}
