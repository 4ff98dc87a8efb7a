// At most `max` tasks at once; the rest wait their turn in order. A task's own timeouts start
// when it starts, not while it waits.
export type Limited = <T>(task: () => Promise<T>) => Promise<T>;

export function concurrencyLimit(max: number): Limited {
  let running = 0;
  const waiting: (() => void)[] = [];
  const next = () => {
    running--;
    waiting.shift()?.();
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      next();
    }
  };
}
