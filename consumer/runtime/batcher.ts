// Coalesces calls made in the same tick into one batch call: jobs that finish together are
// acked with one script call instead of one each. A caller about to make a call of its own can
// take() what is pending and carry it along (the consumer acks inside its next claim), and
// pause() the batcher while that call is out, since the next one will carry what piles up.
export interface Pending<In, Out> {
  item: In;
  resolve: (out: Out) => void;
  reject: (error: unknown) => void;
}

export class Batcher<In, Out> {
  readonly #run: (items: In[]) => Promise<Out[]>;
  #pending: Pending<In, Out>[] = [];
  #scheduled = false;
  #paused = false;

  constructor(run: (items: In[]) => Promise<Out[]>) {
    this.#run = run;
  }

  add(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Hold items back until resume(). */
  pause(): void {
    this.#paused = true;
  }

  /** Send what was held back on the next turn of the event loop, unless take() gets it first. */
  resume(): void {
    this.#paused = false;
    if (this.#pending.length > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#paused) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Hand over everything pending; the caller must settle each one. */
  take(): Pending<In, Out>[] {
    const taken = this.#pending;
    this.#pending = [];
    return taken;
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#paused) return;
    const batch = this.take();
    if (batch.length === 0) return;
    this.#run(batch.map((p) => p.item)).then(
      (outs) => batch.forEach((p, i) => p.resolve(outs[i] as Out)),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    );
  }
}
