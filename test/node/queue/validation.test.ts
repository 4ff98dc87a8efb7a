// Every script validates all its input before its first write (Redis does not roll a script
// back): a batch whose last item is bad writes nothing. And the TypeScript side refuses what a
// script cannot take before calling it.
import { afterEach, describe, expect, it } from "vitest";
import { registryField, registryValue, sha256Hex } from "../../../src/queue/registry.ts";
import { scripts } from "../../../src/queue/scripts.generated.ts";
import { imapJob, testQueue, transports, type TestQueue } from "../../support/queues.ts";

/** Everything under the queue's prefix, as comparable text. */
async function snapshot(q: TestQueue): Promise<Record<string, unknown>> {
  const prefix = q.settings.keys.ready.replace(/ready$/, "");
  const out: Record<string, unknown> = {};
  for (const key of (await q.redis.keys(`${prefix}*`)).sort()) {
    const type = await q.redis.type(key);
    if (type === "list") out[key] = await q.redis.lrange(key, 0, -1);
    else if (type === "hash") out[key] = await q.redis.hgetall(key);
    else if (type === "zset") out[key] = await q.redis.zrange(key, "0", "-1");
    else out[key] = type;
  }
  return out;
}

const job = (uid: number, extra = "") => `{"jobId":"j-${uid}","schemaVersion":1,"provider":"imap","tenantId":"-","providerId":"-","enqueuedAt":1,"attempt":0,"pointer":{"mailbox":"INBOX${extra}","uidValidity":"7","uid":${uid}}}`;

describe("scripts write nothing when the last item of a batch is bad", () => {
  let q: TestQueue;
  afterEach(async () => q.close());

  async function run(script: (typeof scripts)[keyof typeof scripts], keys: string[], args: (string | number)[]) {
    return q.redis.eval(script.source, keys.length, ...keys, ...args.map(String)).then(
      (reply) => ({ ok: true as const, reply }),
      (error: Error) => ({ ok: false as const, error: error.message }),
    );
  }

  it("ingest: a lone surrogate escape, a bad historyId or a non-job as the last item fails the call with nothing written (no dedupe key, no guard, no counter)", async () => {
    q = testQueue("tcp");
    const k = q.settings.keys;
    await q.redis.hset(k.registry, registryField.imapProvider("p"), registryValue({ tenantId: "t", providerId: "p" }));
    const before = await snapshot(q);
    const keys = [k.rotation, k.wake, k.dedupe, k.registry, k.gmailCursor, k.counters];
    const good = ["imap:provider:p", "", "imap:p:7:1", "", job(1)];
    for (const bad of [
      ["imap:provider:p", "", "imap:p:7:2", "", job(2, "\\ud800")],
      ["imap:provider:p", "", "imap:p:7:2", "00000000000000000002", job(2)],
      ["imap:provider:p", "", "imap:p:7:2", "", "not json"],
      ["", "", "imap:p:7:2", "", job(2)],
      ["imap:provider:p", "", "imap:p:7:2"],
    ]) {
      const result = await run(scripts.ingest, keys, [60_000, "imap:signature:abc", "imap", 0, k.lanes, ...good, ...bad]);
      expect(result.ok, JSON.stringify(bad)).toBe(false);
      expect(await snapshot(q)).toEqual(before);
    }
    const fine = await run(scripts.ingest, keys, [60_000, "imap:signature:abc", "imap", 0, k.lanes, ...good]);
    expect(fine).toEqual({ ok: true, reply: ["enqueued"] });
  });

  it("ingest: an unreadable registry entry is 'unknown', not an error half-way", async () => {
    q = testQueue("tcp");
    const k = q.settings.keys;
    await q.redis.hset(k.registry, "imap:provider:p", registryValue({ tenantId: "t", providerId: "p" }), "imap:provider:broken", "{not json");
    const keys = [k.rotation, k.wake, k.dedupe, k.registry, k.gmailCursor, k.counters];
    const result = await run(scripts.ingest, keys, [60_000, "", "imap", 0, k.lanes, "imap:provider:p", "", "a", "", job(1), "imap:provider:broken", "", "b", "", job(2)]);
    expect(result).toEqual({ ok: true, reply: ["enqueued", "unknown"] });
  });

  it("enqueue: a last item that is not a job fails the call with no dedupe key and no job written", async () => {
    q = testQueue("tcp");
    const k = q.settings.keys;
    const before = await snapshot(q);
    for (const bad of [job(2, "\\ud800"), "[]", '{"provider":"imap"}']) {
      const result = await run(scripts.enqueue, [k.rotation, k.wake, k.dedupe], [60_000, k.lanes, "d1", job(1), "d2", bad]);
      expect(result.ok, bad).toBe(false);
      expect(await snapshot(q)).toEqual(before);
    }
    expect((await run(scripts.enqueue, [k.rotation, k.wake, k.dedupe], [60_000, k.lanes, "d1", job(1), "d2"])).ok).toBe(false);
    expect(await snapshot(q)).toEqual(before);
  });

  it("gmail-cursor: refuses a non-canonical or out-of-range historyId; only ever raises the value", async () => {
    q = testQueue("tcp");
    const k = q.settings.keys;
    for (const bad of ["007", "0", "18446744073709551616", "1e9", ""]) {
      expect((await run(scripts.gmailCursor, [k.gmailCursor], ["google:mailbox:a@b", bad])).ok, bad).toBe(false);
    }
    expect(await snapshot(q)).toEqual({});
    expect((await run(scripts.gmailCursor, [k.gmailCursor], ["google:mailbox:a@b", "100"])).ok).toBe(true);
    expect((await run(scripts.gmailCursor, [k.gmailCursor], ["google:mailbox:a@b", "99"]))).toEqual({ ok: true, reply: "100" });
    expect((await run(scripts.gmailCursor, [k.gmailCursor], ["google:mailbox:a@b", "1000"]))).toEqual({ ok: true, reply: "1000" });
    expect((await run(scripts.gmailCursor, [k.gmailCursor], ["google:mailbox:a@b", "18446744073709551615"]))).toEqual({ ok: true, reply: "18446744073709551615" });
  });
});

describe.each(transports)("the TypeScript side over %s refuses what a script cannot take, before calling it", (transport) => {
  let q: TestQueue;
  afterEach(async () => q.close());

  it("ingest: an invalid last item is dropped as 'invalid' and the valid ones go on; all invalid makes no call", async () => {
    q = testQueue(transport);
    const k = q.settings.keys;
    await q.redis.hset(k.registry, registryField.microsoftSubscription("s"), registryValue({ tenantId: "t", providerId: "p", secretHash: await sha256Hex("cs") }));
    const secretHash = await sha256Hex("cs");
    const item = (messageId: string, resource = `Users/u/Messages/${messageId}`) => ({
      registryField: registryField.microsoftSubscription("s"),
      secretHash,
      dedupeKey: `microsoft:s:${messageId}`,
      job: { provider: "microsoft" as const, tenantId: "-", providerId: "-", pointer: { subscriptionId: "s", messageId, resource, changeType: "created" as const } },
    });
    const result = await q.queue.ingest("microsoft", [item("m1"), item("m2", "r".repeat(1500)), item("X\ud800")]);
    expect(result).toMatchObject({ replay: false, outcomes: ["enqueued", "invalid", "invalid"] });
    expect(await q.redis.hgetall(k.counters)).toEqual({ "microsoft:enqueued": "1", "microsoft:invalid": "2" });
    expect(await q.redis.zrange(k.dedupe, "0", "-1")).toEqual(["microsoft:s:m1"]);

    const before = await snapshot(q);
    expect(await q.queue.ingest("microsoft", [item("X\udc00"), { ...item("m9"), historyId: "007" }])).toMatchObject({ outcomes: ["invalid", "invalid"] });
    expect(await snapshot(q)).toEqual(before);
  });

  it("enqueue: an invalid last item throws before any write", async () => {
    q = testQueue(transport);
    const before = await snapshot(q);
    await expect(q.queue.enqueue([{ job: imapJob(1), dedupeKey: "a" }, { job: imapJob(2, { pointer: { mailbox: "IN\ud800", uidValidity: "1", uid: 2 } } as never) }])).rejects.toThrow(TypeError);
    await expect(q.queue.enqueue([{ job: imapJob(1), dedupeKey: "a" }, { job: imapJob(2), dedupeKey: "b\ud800" }])).rejects.toThrow(TypeError);
    expect(await snapshot(q)).toEqual(before);
  });

  it("confirmGmailCursor normalises and only raises", async () => {
    q = testQueue(transport);
    expect(await q.queue.confirmGmailCursor("Support@Example.com", "000120")).toBe("120");
    expect(await q.queue.confirmGmailCursor("support@example.com", "119")).toBe("120");
    await expect(q.queue.confirmGmailCursor("support@example.com", "x")).rejects.toThrow(TypeError);
    expect(await q.redis.hgetall(q.settings.keys.gmailCursor)).toEqual({ "google:mailbox:support@example.com": "120" });
  });
});
