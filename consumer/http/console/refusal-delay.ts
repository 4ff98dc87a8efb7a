// Wrong admin tokens are answered slowly and one at a time: each refusal waits `delayMs` after the
// one before it, so guessing runs at one try per delay however many requests come at once.
// Right tokens never wait.
const MAX_WAITING = 1_000;

export class SerialDelay {
  readonly #delayMs: number;
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(delayMs: number) {
    this.#delayMs = delayMs;
  }

  /** Resolves `delayMs` after the previous wait ended (past MAX_WAITING callers, after `delayMs`). */
  wait(): Promise<void> {
    const pause = () => new Promise<void>((resolve) => setTimeout(resolve, this.#delayMs));
    if (this.#waiting >= MAX_WAITING) return pause();
    this.#waiting++;
    const turn = this.#tail.then(pause).finally(() => this.#waiting--);
    this.#tail = turn;
    return turn;
  }
}
