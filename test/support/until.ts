/** Waits until `check` holds, polling every 10 ms: resolves with how long that took, or throws
 * after `ms` saying what it waited for. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000, what: string | (() => string) = "condition"): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${typeof what === "function" ? what() : what} not met within ${ms} ms`);
}
