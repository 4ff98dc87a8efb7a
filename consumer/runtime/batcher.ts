// Coalesces calls made in the same tick into one batch call: jobs that finish together are
// acked with one script call instead of one each.
export class Batcher<In, Out> {
  readonly #run: (items: In[]) => Promise<Out[]>;
  #pending: { item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  #scheduled = false;

  constructor(run: (items: In[]) => Promise<Out[]>) {
    this.#run = run;
  }

  add(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    this.#run(batch.map((p) => p.item)).then(
      (outs) => batch.forEach((p, i) => p.resolve(outs[i] as Out)),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    );
  }
}
