// Settle: how a handler's ending maps to ack or fail, and what carrying it out does to the queue.
import { afterEach, describe, expect, it } from "vitest";
import { InletError, permanent, retryable, sourceUnavailable } from "../../../consumer/domain/errors.ts";
import { settle, settlementFor, type JobObserver, type JobResult, type SettleContext } from "../../../consumer/runtime/settle.ts";
import type { PointerQueue } from "../../../src/queue/queue.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { imapJob, testQueue, type TestQueue } from "../../support/queues.ts";

describe("settlementFor", () => {
  it("processed and skipped outcomes are acked; a skipped one keeps its reason", () => {
    expect(settlementFor({ outcome: { outcome: "processed", messages: [{ outcome: "skipped", reason: "x" }] } })).toEqual({ action: "ack", outcome: "processed", messages: 1 });
    expect(settlementFor({ outcome: { outcome: "skipped", reason: "provider_not_found" } })).toEqual({ action: "ack", outcome: "skipped", reason: "provider_not_found" });
  });

  it("an error that says skip is acked with its code as the reason", () => {
    expect(settlementFor({ failure: sourceUnavailable("imap_message_not_found", "gone") })).toEqual({ action: "ack", outcome: "skipped", reason: "source_unavailable:imap_message_not_found" });
  });

  it("retryable and permanent errors fail, keeping the error as thrown", () => {
    const transient = retryable("imap_timeout", "timed out", { retryAfterMs: 3000 });
    const dead = permanent("imap_auth_failed", "bad password");
    expect(settlementFor({ failure: transient })).toEqual({ action: "fail", error: transient });
    expect(settlementFor({ failure: dead })).toEqual({ action: "fail", error: dead });
  });

  it("anything else thrown fails as unexpected_error, to be retried", () => {
    const cause = new TypeError("x is undefined");
    const settlement = settlementFor({ failure: cause });
    expect(settlement).toMatchObject({ action: "fail", error: { code: "unexpected_error", disposition: "retry", message: "x is undefined", cause } });
    expect(settlementFor({ failure: "a string" })).toMatchObject({ action: "fail", error: { code: "unexpected_error", message: "a string" } });
    expect(settlement.action === "fail" && settlement.error instanceof InletError).toBe(true);
  });
});

describe("settle against the queue", () => {
  let q: TestQueue;
  afterEach(async () => q.close());

  function context(queue: PointerQueue) {
    const stale: string[] = [];
    const counters = { acked: 0, skipped: 0, retried: 0, deadLettered: 0 };
    const ctx: SettleContext = {
      ack: async (lease) => (await queue.ack([lease]))[0] === true,
      fail: (lease, failure) => queue.fail(lease, failure),
      counters,
      log: captureLogs().log,
      ids: (claim) => ({ jobId: claim.jobId }),
      stale: (_claim, operation) => stale.push(operation),
    };
    return { ctx, stale, counters };
  }

  it("a provider's Retry-After holds the retry back at least that long, whatever the backoff", async () => {
    q = testQueue("tcp", { backoffBaseMs: 20, backoffMaxMs: 40 });
    await q.queue.enqueue([{ job: imapJob(1) }]);
    const { claims, now } = await q.queue.claim();
    const { ctx, counters } = context(q.queue);
    await settle(claims[0]!, settlementFor({ failure: retryable("graph_throttled", "429", { retryAfterMs: 5000 }) }), Date.now(), ctx);
    expect(counters.retried).toBe(1);
    const [, dueAt] = await q.redis.zrange(q.settings.keys.delayed, "0", "0", "WITHSCORES");
    expect(Number(dueAt) - now).toBeGreaterThanOrEqual(5000);
  });

  it("an ack or fail on a lease that was reclaimed counts nothing and is reported stale", async () => {
    q = testQueue("tcp", { claimTtlMs: 50 });
    await q.queue.enqueue([1, 2].map((uid) => ({ job: imapJob(uid) })));
    const { claims } = await q.queue.claim({ count: 2 });
    await new Promise((r) => setTimeout(r, 80));
    await q.queue.reclaim();
    const { ctx, stale, counters } = context(q.queue);
    await settle(claims[0]!, settlementFor({ outcome: { outcome: "processed", messages: [] } }), Date.now(), ctx);
    await settle(claims[1]!, settlementFor({ failure: retryable("imap_timeout", "timed out") }), Date.now(), ctx);
    expect(stale).toEqual(["ack", "fail"]);
    expect(counters).toEqual({ acked: 0, skipped: 0, retried: 0, deadLettered: 0 });
    expect(await q.redis.llen(q.settings.keys.ready)).toBe(2);
  });

  it("observers hear of each settlement with its outcome (not of stale ones), and one that throws changes nothing", async () => {
    q = testQueue("tcp", { backoffBaseMs: 20, backoffMaxMs: 40, maxAttempts: 5 });
    await q.queue.enqueue([1, 2, 3, 4].map((uid) => ({ job: imapJob(uid) })));
    const { claims } = await q.queue.claim({ count: 4 });
    const heard: [number, JobResult["outcome"]][] = [];
    const listening: JobObserver = { settled: (claim, result) => void heard.push([claim.job.provider === "imap" ? claim.job.pointer.uid : 0, result.outcome]) };
    const throwing: JobObserver = {
      settled: () => {
        throw new Error("observer broke");
      },
    };
    const { ctx, counters } = context(q.queue);
    const observed = { ...ctx, observers: [throwing, listening] };
    await settle(claims[0]!, settlementFor({ outcome: { outcome: "processed", messages: [] } }), Date.now(), observed);
    await settle(claims[1]!, settlementFor({ failure: sourceUnavailable("imap_message_not_found", "gone") }), Date.now(), observed);
    await settle(claims[2]!, settlementFor({ failure: retryable("imap_timeout", "timed out") }), Date.now(), observed);
    await settle(claims[3]!, settlementFor({ failure: permanent("imap_auth_failed", "no") }), Date.now(), observed);
    await settle(claims[0]!, settlementFor({ outcome: { outcome: "processed", messages: [] } }), Date.now(), observed); // acked already: stale
    expect(heard).toEqual([[1, "processed"], [2, "skipped"], [3, "retry"], [4, "dead_letter"]]);
    expect(counters).toEqual({ acked: 1, skipped: 1, retried: 1, deadLettered: 1 });
  });
});
