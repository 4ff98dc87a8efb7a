// The ingress fuzz run (bench/fuzz.ts) at 5,000 requests: every mutation class against the built
// Worker in plain workerd, with every invariant checked per request (see bench/support/fuzz.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdge, type Edge } from "../../../bench/support/edge.ts";
import { runFuzz } from "../../../bench/support/fuzz.ts";

describe("ingress fuzzing", () => {
  let edge: Edge;
  beforeAll(async () => {
    edge = await startEdge();
  }, 120_000);
  afterAll(async () => edge?.close());

  it("5,000 mutated requests: no violation, every class seen, every control accepted", async () => {
    const report = await runFuzz(edge, { requests: 5000, seed: 5000, bigBodies: 3 });
    expect(report.violations).toEqual([]);
    expect(report.violationCount).toBe(0);
    expect(report.controls).toBe(10);
    expect(report.bigBody.sent).toBe(3);
    expect(Object.keys(report.byKind).length + Object.keys(report.httpLayer).length).toBeGreaterThanOrEqual(35);
    expect(report.redisCalls.refusedAlone).toBe(0);
  }, 240_000);
});
