// The retry schedule README tabulates: a step of 5 s doubling to a 1 h cap, each wait between half
// the step and all of it, and about 40 attempts in the 24 h window.
import { expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY, retryDelayMs } from "../../../consumer/delivery/retry-schedule.ts";

it("waits between half the step and the step, the step doubling from 5 s up to 1 h", () => {
  const bounds = (n: number) => [retryDelayMs(n, DEFAULT_RETRY_POLICY, () => 0), retryDelayMs(n, DEFAULT_RETRY_POLICY, () => 1)];
  expect(bounds(1)).toEqual([2_500, 5_000]);
  expect(bounds(2)).toEqual([5_000, 10_000]);
  expect(bounds(7)).toEqual([160_000, 320_000]);
  expect(bounds(10)).toEqual([1_280_000, 2_560_000]);
  expect(bounds(11)).toEqual([1_800_000, 3_600_000]);
  expect(bounds(500)).toEqual([1_800_000, 3_600_000]);
});

it("about 40 attempts fit in the 24 h window at the average wait", () => {
  let elapsed = 0;
  let attempts = 1;
  while (elapsed + retryDelayMs(attempts, DEFAULT_RETRY_POLICY, () => 0.5) <= DEFAULT_RETRY_POLICY.windowMs) elapsed += retryDelayMs(attempts++, DEFAULT_RETRY_POLICY, () => 0.5);
  expect(attempts).toBeGreaterThanOrEqual(35);
  expect(attempts).toBeLessThanOrEqual(50);
});
