// The delivery chaos run of `npm run chaos:delivery` (bench/delivery/chaos.ts) at a size CI can
// afford: 200 mails applied while the consumer (a child process) delivers to a receiver that
// answers 500 to a third of the requests, hangs on some, is down for 6 s, and the consumer is
// SIGKILLed twice. Every event arrives, each id is applied once, per-ticket order holds, nothing
// is marked delivered that the receiver did not acknowledge.
import { expect, it } from "vitest";
import { inject } from "vitest";
import { runDeliveryChaos } from "../../../bench/delivery/chaos.ts";

it("200 mails, receiver 500s, timeouts and 6 s down, consumer SIGKILLed twice: every event once, in order, acknowledged", async () => {
  const lines: string[] = [];
  const report = await runDeliveryChaos({ root: process.cwd(), mails: 200, rate: 40, seed: 7, downMs: 6_000, kills: 2, redisUrl: inject("redisUrl"), drainTimeoutMs: 120_000, progress: (l) => lines.push(l) });
  const summary = JSON.stringify({ ...report, progress: lines }, null, 1);
  expect(report.consumer.kills, summary).toBe(2);
  expect(report.requests.answered500, summary).toBeGreaterThan(0);
  expect(report.requests.hung, summary).toBeGreaterThan(0);
  expect(report.events, summary).toBe(200);
  expect(report.verdict, summary).toMatchObject({ missing: 0, appliedMoreThanOnce: 0, orderViolations: 0, deliveredNotAcknowledged: 0, unverified: 0, pending: 0, failed: 0 });
  expect(report.consumer.crashes, summary).toBe(0);
  expect(report.verdict.ok, summary).toBe(true);
}, 300_000);
