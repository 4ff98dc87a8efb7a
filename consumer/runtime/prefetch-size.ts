// How many jobs to hold ahead of the running ones. Enough to keep every slot busy for two claim
// round trips at the jobs' running time, within the configured limit: a consumer of slow jobs
// holds about one in hand, and only quick jobs fill the limit. Until both a job and a claim have
// been timed, one (none when prefetch is off).

/** Weight of the newest sample in the running averages. */
const EWMA_WEIGHT = 0.2;
const ewma = (average: number | undefined, sample: number) => (average === undefined ? sample : average + EWMA_WEIGHT * (sample - average));

export class PrefetchSize {
  readonly #limit: number;
  readonly #concurrency: number;
  /** Running averages (ms) of a job's handler time and of a claim's round trip. */
  #jobMs: number | undefined;
  #claimMs: number | undefined;

  /** `limit` 0 turns prefetch off. */
  constructor(limit: number, concurrency: number) {
    this.#limit = limit;
    this.#concurrency = concurrency;
  }

  jobTook(ms: number): void {
    this.#jobMs = ewma(this.#jobMs, ms);
  }

  claimTook(ms: number): void {
    this.#claimMs = ewma(this.#claimMs, ms);
  }

  /** Jobs to hold beyond the running ones. */
  target(): number {
    const limit = this.#limit;
    if (limit === 0 || this.#jobMs === undefined || this.#claimMs === undefined) return Math.min(limit, 1);
    const needed = Math.ceil((2 * this.#concurrency * this.#claimMs) / Math.max(this.#jobMs, 0.001));
    return Math.max(1, Math.min(limit, needed));
  }
}
