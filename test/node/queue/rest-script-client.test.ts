// The edge's fetch-only REST client (src/queue/rest-script-client.ts) against the
// Upstash-compatible bridge: script calls, NOSCRIPT → EVAL, errors, and a queue built on it.
import { createHash } from "node:crypto";
import { afterEach, describe, expect, inject, it } from "vitest";
import { PointerQueue } from "../../../src/queue/queue.ts";
import { RestError, RestScriptClient } from "../../../src/queue/rest-script-client.ts";
import { imapJob, testQueue, type TestQueue } from "../../support/queues.ts";

const client = () => new RestScriptClient({ url: inject("restUrl"), token: inject("restToken") });

describe("RestScriptClient", () => {
  let q: TestQueue | undefined;
  afterEach(async () => {
    await q?.close();
    q = undefined;
  });

  it("runs a script Redis does not know yet (NOSCRIPT, then EVAL) and returns its reply as Upstash encodes it", async () => {
    const source = `return { KEYS[1], tonumber(ARGV[1]) + 1, false, { 'a' } } -- ${Math.random()}`;
    const script = { name: "probe", keys: 1, sha1: createHash("sha1").update(source).digest("hex"), source };
    expect(await client().run(script, ["k"], [41])).toEqual(["k", 42, null, ["a"]]);
    expect(await client().run(script, ["k"], [1])).toEqual(["k", 2, null, ["a"]]);
  });

  it("reports a script error and a refused token as RestError", async () => {
    const source = "return redis.error_reply('ERR probe: refused')";
    const script = { name: "probe", keys: 0, sha1: createHash("sha1").update(source).digest("hex"), source };
    await expect(client().run(script, [], [])).rejects.toThrow(/probe: refused/);
    const wrong = new RestScriptClient({ url: inject("restUrl"), token: "wrong" });
    await expect(wrong.run(script, [], [])).rejects.toBeInstanceOf(RestError);
  });

  it("carries the queue: enqueue, claim, ack", async () => {
    q = testQueue("rest");
    const queue = new PointerQueue(client(), q.settings);
    await queue.enqueue([{ job: imapJob(1) }, { job: imapJob(2) }]);
    const { claims } = await queue.claim({ count: 2 });
    expect(claims.map((c) => (c.job.pointer as { uid: number }).uid)).toEqual([1, 2]);
    expect(await queue.ack(claims)).toEqual([true, true]);
  });

  it("a network error is retried once, then thrown", async () => {
    const dead = new RestScriptClient({ url: "http://127.0.0.1:1", token: "x", retries: 1 });
    await expect(dead.run({ name: "x", keys: 0, sha1: "0".repeat(40), source: "return 1" }, [], [])).rejects.toThrow();
  });
});
