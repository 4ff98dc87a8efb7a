// GET /healthz: the process answers. GET /readyz: Redis and the database answer, each checked
// with a bound so that a hung dependency reads as "not ready" rather than a hung probe.
import { Hono } from "hono";

export interface ReadinessCheck {
  name: string;
  check(): Promise<unknown>;
}

const CHECK_TIMEOUT_MS = 2_000;

export function healthRoutes(checks: readonly ReadinessCheck[]): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const results = await Promise.all(checks.map(async ({ name, check }) => ({ name, error: await failureOf(check) })));
    const failed = results.filter((r) => r.error !== undefined);
    const body = { status: failed.length ? "unavailable" : "ready", checks: Object.fromEntries(results.map((r) => [r.name, r.error ?? "ok"])) };
    return c.json(body, failed.length ? 503 : 200);
  });
  return app;
}

async function failureOf(check: () => Promise<unknown>): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)));
  try {
    await Promise.race([check(), timeout]);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}
