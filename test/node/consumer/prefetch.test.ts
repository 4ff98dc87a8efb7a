// Prefetch: how many jobs a consumer holds ahead of its running ones, and how they wait.
import { describe, expect, it } from "vitest";
import { PrefetchSize } from "../../../consumer/runtime/prefetch-size.ts";

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
