// Guarantee 7: an idle TCP consumer blocks on the wake marker instead of polling.
import { afterEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { WakeListener } from "../../../consumer/redis/tcp-client.ts";
import { imapJob, testQueue, type TestQueue } from "../../support/queues.ts";

describe("wake marker over tcp", () => {
  let q: TestQueue;
  let listener: WakeListener;
  afterEach(async () => {
    listener.close();
    await q.close();
  });

  it("an enqueue into an empty ready list wakes a blocked consumer at once", async () => {
    q = testQueue("tcp");
    listener = new WakeListener(inject("redisUrl"), q.settings.keys.wake);
    const started = Date.now();
    const waiting = listener.wait(10);
    await new Promise((r) => setTimeout(r, 50));
    await q.queue.enqueue([{ job: imapJob(1) }]);
    const wake = await waiting;
    expect(wake).toEqual({ member: "ready", at: 0 });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("a failed job leaves a wake for the time its retry is due", async () => {
    q = testQueue("tcp", { backoffBaseMs: 300, backoffMaxMs: 300 });
    listener = new WakeListener(inject("redisUrl"), q.settings.keys.wake);
    await q.queue.enqueue([{ job: imapJob(1) }]);
    await listener.wait(1); // consume the 'ready' wake
    const claim = (await q.queue.claim()).claims[0]!;
    const failed = await q.queue.fail(claim, { error: "x" });
    const wake = await listener.wait(1);
    expect(wake).toEqual({ member: "delayed", at: failed.status === "retry" ? failed.dueAt : -1 });
  });

  it("a woken consumer passes the wake on while work remains, so every idle consumer joins", async () => {
    q = testQueue("tcp");
    listener = new WakeListener(inject("redisUrl"), q.settings.keys.wake);
    await q.queue.enqueue([1, 2, 3].map((uid) => ({ job: imapJob(uid) })));
    expect(await listener.wait(1)).toMatchObject({ member: "ready" });
    await q.queue.claim({ count: 1, woken: true });
    expect(await listener.wait(1)).toMatchObject({ member: "ready" }); // two jobs still wait
    await q.queue.claim({ count: 2, woken: true });
    expect(await q.redis.zcard(q.settings.keys.wake)).toBe(0); // nothing left to announce
  });
});
