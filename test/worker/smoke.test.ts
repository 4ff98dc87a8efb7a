import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import type { Env } from "../../src/env.ts";

describe("worker", () => {
  it("the exported handler answers /healthz", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("http://inlet.test/healthz"), env as unknown as Env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});
