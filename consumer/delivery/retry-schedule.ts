// When a failed delivery is tried again: exponential backoff from the base (5 s), doubling up to
// the cap (1 h), with equal jitter (half the step fixed, half random), for as long as the retry
// window (24 h from the event or from the operator's redeliver) lasts; the attempt that would
// fall outside it marks the delivery failed instead. README ("Delivery") has the table.
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  windowMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 5_000, maxMs: 3_600_000, windowMs: 24 * 3_600_000 };

/** The wait before attempt `attempts + 1`, after `attempts` failed ones (1, 2, …). */
export function retryDelayMs(attempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.round(step / 2 + (random() * step) / 2);
}
