// The chaos run of `npm run chaos` (bench/chain/chaos.ts) at a size CI can afford: 300 mails
// through the whole chain as processes, the consumer SIGKILLed every 2-4 s, Redis, PostgreSQL and
// the REST endpoint each restarted once, 10% of Graph and Gmail notifications dropped. Every mail
// one ticket or comment, replies on their parent's ticket, no duplicated document, the queue
// empty, the poisoned mails dead-lettered after exactly MAX_ATTEMPTS deliveries.
import { describe, expect, it } from "vitest";
import { CHAOS_CONSUMER_ENV, runChaos } from "../../../bench/chain/chaos.ts";

describe("chaos run, small", () => {
  it("300 mails, consumer SIGKILLed every 2-4 s, Redis, PostgreSQL and the REST endpoint restarted, 10% of notifications dropped: nothing lost, doubled or mis-threaded", async () => {
    const base = Number(process.env.INLET_TEST_PORT_BASE ?? 18000);
    const lines: string[] = [];
    const report = await runChaos({
      root: process.cwd(),
      mails: 300,
      rate: 30,
      seed: 13,
      poisoned: 2,
      dropShare: 0.1,
      killEveryMs: [2000, 4000],
      faults: { redisAt: 0.25, postgresAt: 0.5, restAt: 0.75, downMs: 2000 },
      drainTimeoutMs: 180_000,
      workerPort: base + 821,
      consumerEnv: CHAOS_CONSUMER_ENV,
      progress: (line) => lines.push(line),
    });
    const v = report.verdict;
    const summary = JSON.stringify({ verdict: { ...v, queue: v.queue }, drained: report.drained, crashes: report.consumer.crashes.map((c) => ({ code: c.code, signal: c.signal, last: c.lastLines.at(-1) })), dir: report.dir, progress: lines.slice(-8) }, null, 1);
    expect(report.consumer.kills, summary).toBeGreaterThanOrEqual(2);
    expect(report.faults.map((f) => f.what).filter((w) => !w.startsWith("consumer")), summary).toHaveLength(3);
    expect(report.delivery.droppedGraph + report.delivery.droppedGmail, summary).toBeGreaterThan(0);
    expect(report.drained, summary).toBe(true);
    expect({ lost: v.lost, duplicated: v.duplicated, misThreaded: v.misThreaded, split: v.splitConversations, wrongOutcome: v.wrongOutcome }, summary).toEqual({ lost: 0, duplicated: 0, misThreaded: 0, split: 0, wrongOutcome: 0 });
    expect(v.documents, summary).toMatchObject({ duplicated: 0, missing: 0 });
    expect(v.documents.actual).toBe(v.documents.expected);
    expect(v.deadLetters, summary).toMatchObject({ total: 2, poisonedFound: 2, attempts: [5, 5], unexpected: [] });
    expect(v.queue, summary).toMatchObject({ ready: 0, processing: 0, inflight: 0, delayed: 0 });
    expect(report.consumer.crashes, summary).toEqual([]);
    expect(v.ok, summary).toBe(true);
  }, 420_000);
});
