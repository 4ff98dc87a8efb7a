// How an idle consumer waits for work: bounded waits that double while nothing is heard.
import { describe, expect, it } from "vitest";
import { IdleWait } from "../../../consumer/runtime/idle-wait.ts";

async function timed(wait: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await wait();
  return performance.now() - started;
}

describe("idle wait without a wake marker (REST)", () => {
  it("doubles from the block time up to the idle maximum while nothing comes, and is short again after work", async () => {
    const idle = new IdleWait({ blockSeconds: 0.04, idleMaxSeconds: 0.16, wake: undefined, signal: new AbortController().signal });
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) waits.push(await timed(() => idle.forWork(Infinity)));
    idle.reset();
    waits.push(await timed(() => idle.forWork(Infinity)));
    const expected = [40, 80, 160, 160, 40];
    waits.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(expected[i]! - 2);
      expect(ms).toBeLessThan(expected[i]! + 150);
    });
  });

  it("waits no longer than until the next retry is due, and a failed claim backs off the same way", async () => {
    const idle = new IdleWait({ blockSeconds: 0.2, idleMaxSeconds: 1, wake: undefined, signal: new AbortController().signal });
    expect(await timed(() => idle.forWork(30))).toBeLessThan(30 + 150);
    expect(await timed(() => idle.afterFailure())).toBeGreaterThanOrEqual(400 - 2);
  });

  it("ends at once when the consumer stops", async () => {
    const stopping = new AbortController();
    const idle = new IdleWait({ blockSeconds: 5, idleMaxSeconds: 30, wake: undefined, signal: stopping.signal });
    setTimeout(() => stopping.abort(), 20);
    expect(await timed(() => idle.forWork(Infinity))).toBeLessThan(1000);
  });
});
