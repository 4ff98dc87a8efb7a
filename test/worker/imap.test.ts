import { describe, expect, it } from "vitest";
import { imapSignature, scope, testEnv } from "./support.ts";

const SECRET = testEnv.IMAP_WEBHOOK_SECRET!;
const signed = (body: string, signature: string | undefined) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...(signature ? { "x-inlet-signature": signature } : {}) },
  body,
});

describe("POST /webhooks/imap", () => {
  it("happy path: each UID becomes one pointer, once, even when the listener sends it again", async () => {
    const s = scope();
    await s.registerImap("imap-1", "tenant-i");
    const body = JSON.stringify({ providerId: "imap-1", mailbox: "INBOX", uidValidity: "1700000000", uids: [10, 11, 12] });
    const res = await s.fetch("/webhooks/imap", signed(body, await imapSignature(SECRET, body)));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 3, duplicates: 0 });
    const resent = JSON.stringify({ providerId: "imap-1", mailbox: "INBOX", uidValidity: "1700000000", uids: [12, 13] });
    expect(await (await s.fetch("/webhooks/imap", signed(resent, await imapSignature(SECRET, resent)))).json()).toEqual({ accepted: 1, duplicates: 1 });
    const ready = await s.ready();
    expect(ready.map((j) => (j.pointer as { uid: number }).uid)).toEqual([10, 11, 12, 13]);
    expect(ready[0]).toMatchObject({ provider: "imap", tenantId: "tenant-i", providerId: "imap-1", pointer: { mailbox: "INBOX", uidValidity: "1700000000", uid: 10 } });
  });

  it("refuses a wrong signature, a stale timestamp, a replayed signature and a missing header; nothing enqueued", async () => {
    const s = scope();
    await s.registerImap("imap-1");
    const body = JSON.stringify({ providerId: "imap-1", mailbox: "INBOX", uidValidity: "7", uids: [1] });
    const wrong = await s.fetch("/webhooks/imap", signed(body, await imapSignature("not-the-secret", body)));
    expect([wrong.status, (await wrong.json()) as unknown]).toEqual([401, { error: { code: "bad_signature", message: expect.any(String) } }]);
    const stale = await s.fetch("/webhooks/imap", signed(body, await imapSignature(SECRET, body, Math.floor(Date.now() / 1000) - 301)));
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ error: { code: "stale_signature" } });
    const missing = await s.fetch("/webhooks/imap", signed(body, undefined));
    expect(await missing.json()).toMatchObject({ error: { code: "missing_signature" } });
    const tampered = JSON.stringify({ providerId: "imap-1", mailbox: "INBOX", uidValidity: "7", uids: [2] });
    expect((await s.fetch("/webhooks/imap", signed(tampered, await imapSignature(SECRET, body)))).status).toBe(401);
    expect(await s.ready()).toEqual([]);

    const signature = await imapSignature(SECRET, body);
    expect((await s.fetch("/webhooks/imap", signed(body, signature))).status).toBe(202);
    const replay = await s.fetch("/webhooks/imap", signed(body, signature));
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: { code: "replayed_signature" } });
    expect(await s.ready()).toHaveLength(1);
  });

  it("validates the body: wrong shapes are 400, an unknown provider is 404", async () => {
    const s = scope();
    for (const bad of [{ providerId: "imap-1", mailbox: "INBOX", uidValidity: "x", uids: [1] }, { providerId: "imap-1", mailbox: "INBOX", uidValidity: "7", uids: [] }, { providerId: "imap-1", mailbox: "INBOX", uidValidity: "7", uids: [0] }, { providerId: "imap-1", mailbox: "INBOX", uidValidity: "7", uids: [1], body: "hello" }]) {
      const body = JSON.stringify(bad);
      expect((await s.fetch("/webhooks/imap", signed(body, await imapSignature(SECRET, body)))).status, body).toBe(400);
    }
    const body = JSON.stringify({ providerId: "not-registered", mailbox: "INBOX", uidValidity: "7", uids: [1] });
    const unknown = await s.fetch("/webhooks/imap", signed(body, await imapSignature(SECRET, body)));
    expect(unknown.status).toBe(404);
    expect(await s.ready()).toEqual([]);
  });

  it("checks the signature header's shape and timestamp before reading the body", async () => {
    const s = scope();
    for (const header of ["t=abc,v1=00", `t=${Math.floor(Date.now() / 1000) - 3600},v1=${"0".repeat(64)}`, "v1=only", "x".repeat(5000)]) {
      let pulled = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          controller.enqueue(new Uint8Array(1024));
        },
      });
      const res = await s.fetch("/webhooks/imap", { method: "POST", headers: { "content-type": "application/json", "x-inlet-signature": header }, body, duplex: "half" } as RequestInit);
      expect(res.status, header.slice(0, 40)).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: expect.stringMatching(/malformed_signature|stale_signature/) } });
      expect(pulled, header.slice(0, 40)).toBeLessThanOrEqual(1); // a stream may be primed once; never read
    }
  });

  it("a bad signature costs no Redis call", async () => {
    const s = scope();
    const { countRedisCommands } = await import("./support.ts");
    const body = JSON.stringify({ providerId: "imap-1", mailbox: "INBOX", uidValidity: "7", uids: [1] });
    const { result, commands } = await countRedisCommands(async () => s.fetch("/webhooks/imap", signed(body, await imapSignature("wrong", body))));
    expect(result.status).toBe(401);
    expect(commands).toEqual([]);
  });

  it("uidValidity is normalised (no leading zeros) before it is stored or deduplicated; out of range is 400", async () => {
    const s = scope();
    await s.registerImap("imap-1");
    const post = async (uidValidity: string, uids: number[]) => {
      const body = JSON.stringify({ providerId: "imap-1", mailbox: "INBOX", uidValidity, uids });
      return s.fetch("/webhooks/imap", signed(body, await imapSignature(SECRET, body)));
    };
    expect(await (await post("0001700000000", [5])).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await (await post("1700000000", [5])).json()).toEqual({ accepted: 0, duplicates: 1 });
    for (const bad of ["0", "4294967296", "99999999999999999999"]) expect((await post(bad, [1])).status, bad).toBe(400);
    expect((await post("7", [2 ** 32])).status).toBe(400);
    expect((await s.ready()).map((j) => j.pointer)).toEqual([{ mailbox: "INBOX", uidValidity: "1700000000", uid: 5 }]);
  });

  it("a lone surrogate in the mailbox name is a 400 before Redis; nothing marked used", async () => {
    const s = scope();
    await s.registerImap("imap-1");
    const body = JSON.stringify({ providerId: "imap-1", mailbox: "INBOX\ud800", uidValidity: "7", uids: [1, 2] });
    const signature = await imapSignature(SECRET, body);
    expect((await s.fetch("/webhooks/imap", signed(body, signature))).status).toBe(400);
    expect(await s.redis.zscore(s.keys.dedupe, `imap:signature:${signature.split("v1=")[1]}`)).toBeNull();
    expect(await s.ready()).toEqual([]);
  });
});
