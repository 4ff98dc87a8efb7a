// Prefetch: how many jobs a consumer holds ahead of its running ones, and how they wait.
import { describe, expect, it } from "vitest";
import { PrefetchBuffer } from "../../../consumer/runtime/prefetch-buffer.ts";
import { PrefetchSize } from "../../../consumer/runtime/prefetch-size.ts";
import type { Claim } from "../../../src/queue/queue.ts";

describe("prefetch size", () => {
  it("holds one ahead until a job and a claim have been timed, none when prefetch is off", () => {
    const size = new PrefetchSize(64, 8);
    expect(size.target()).toBe(1);
    size.jobTook(0.01);
    expect(size.target()).toBe(1);
    const off = new PrefetchSize(0, 8);
    off.jobTook(0.01);
    off.claimTook(1);
    expect(off.target()).toBe(0);
  });

  it("holds enough for two claim round trips at the jobs' running time, at least one and at most the limit", () => {
    const size = new PrefetchSize(64, 4);
    size.claimTook(2);
    size.jobTook(8); // 4 slots × 2 round trips × 2 ms / 8 ms a job = 2
    expect(size.target()).toBe(2);
    const slow = new PrefetchSize(64, 4);
    slow.claimTook(2);
    slow.jobTook(10_000);
    expect(slow.target()).toBe(1);
    const quick = new PrefetchSize(64, 4);
    quick.claimTook(2);
    quick.jobTook(0.01);
    expect(quick.target()).toBe(64);
  });

  it("follows the jobs as they turn slow, a fifth of the way per sample", () => {
    const size = new PrefetchSize(64, 1);
    size.claimTook(10);
    size.jobTook(1); // 20 ahead
    expect(size.target()).toBe(20);
    size.jobTook(101); // average 1 + 0.2 × 100 = 21 ms: 1 ahead
    expect(size.target()).toBe(1);
  });
});

describe("prefetch buffer", () => {
  const claim = (n: number) => ({ jobId: `job-${n}`, token: `t${n}` }) as unknown as Claim;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("is empty, holding while jobs wait, and empty again once the last is taken, in claim order", () => {
    const buffer = new PrefetchBuffer({ maxWaitMs: 10_000, giveBack: () => expect.fail("nothing waited that long") });
    expect(buffer.mode).toBe("empty");
    const [a, b, c] = [claim(1), claim(2), claim(3)];
    buffer.push(a);
    buffer.push(b);
    buffer.push(c);
    expect(buffer.mode).toBe("holding");
    expect(buffer.remove(b)).toBe(true);
    expect(buffer.remove(b)).toBe(false);
    expect([buffer.shift(), buffer.shift(), buffer.shift()]).toEqual([a, c, undefined]);
    expect(buffer.mode).toBe("empty");
  });

  it("hands back the jobs that waited the longest allowed, and later ones when their time comes", async () => {
    const givenBack: Claim[][] = [];
    const buffer = new PrefetchBuffer({ maxWaitMs: 150, giveBack: (claims) => givenBack.push(claims) });
    const [a, b, c] = [claim(1), claim(2), claim(3)];
    buffer.push(a);
    buffer.push(b);
    await sleep(100);
    buffer.push(c);
    await sleep(80);
    expect(givenBack).toEqual([[a, b]]);
    expect(buffer.size).toBe(1);
    await sleep(120);
    expect(givenBack).toEqual([[a, b], [c]]);
    expect(buffer.mode).toBe("empty");
  });

  it("close takes every waiting job in claim order and hands back any pushed after it", async () => {
    const givenBack: Claim[][] = [];
    const buffer = new PrefetchBuffer({ maxWaitMs: 50, giveBack: (claims) => givenBack.push(claims) });
    const [a, b, c] = [claim(1), claim(2), claim(3)];
    buffer.push(a);
    buffer.push(b);
    expect(buffer.close()).toEqual([a, b]);
    expect(buffer.mode).toBe("closed");
    buffer.push(c);
    expect(givenBack).toEqual([[c]]);
    expect(buffer.shift()).toBeUndefined();
    await sleep(80); // the expiry timer went with close: nothing is handed back twice
    expect(givenBack).toEqual([[c]]);
  });
});
