// Jobs settled per outcome over the last few minutes, for the console's overview (Prometheus
// computes its own rates from the counters). Ten-second buckets in a ring: adding is O(1).
const BUCKET_MS = 10_000;
const BUCKETS = 30; // five minutes

export type RateOutcome = "processed" | "skipped" | "retry" | "dead_letter";
const OUTCOMES: readonly RateOutcome[] = ["processed", "skipped", "retry", "dead_letter"];

export class JobRates {
  readonly #slots = Array.from({ length: BUCKETS }, () => ({ bucket: -1, counts: { processed: 0, skipped: 0, retry: 0, dead_letter: 0 } as Record<RateOutcome, number> }));

  add(outcome: RateOutcome, now = Date.now()): void {
    const bucket = Math.floor(now / BUCKET_MS);
    const slot = this.#slots[bucket % BUCKETS]!;
    if (slot.bucket !== bucket) {
      slot.bucket = bucket;
      for (const o of OUTCOMES) slot.counts[o] = 0;
    }
    slot.counts[outcome]++;
  }

  /** Jobs per minute by outcome over the last `windowMs` (at most five minutes). */
  perMinute(windowMs = BUCKETS * BUCKET_MS, now = Date.now()): Record<RateOutcome, number> {
    const newest = Math.floor(now / BUCKET_MS);
    const oldest = newest - Math.min(BUCKETS, Math.ceil(windowMs / BUCKET_MS)) + 1;
    const totals: Record<RateOutcome, number> = { processed: 0, skipped: 0, retry: 0, dead_letter: 0 };
    for (const slot of this.#slots) {
      if (slot.bucket < oldest || slot.bucket > newest) continue;
      for (const o of OUTCOMES) totals[o] += slot.counts[o];
    }
    const minutes = ((newest - oldest + 1) * BUCKET_MS) / 60_000;
    for (const o of OUTCOMES) totals[o] = Math.round((totals[o] / minutes) * 10) / 10;
    return totals;
  }
}
