// The IMAP listener against a real Dovecot: messages appended while it runs and while it is
// stopped, a UIDVALIDITY change and a server restart; every message reaches the ready list once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImapFlow } from "imapflow";
import { ImapListener } from "../../../consumer/imap-listener/listener.ts";
import type { MailboxRecord } from "../../../consumer/domain/mailbox.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { startDovecot, type Dovecot } from "../../../dev/dovecot.ts";
import { MemoryDirectory } from "../../support/mailboxes.ts";
import { readyRaws, sleep, testQueue, type TestQueue } from "../../support/queues.ts";
import { TcpScriptClient, createTcpRedis } from "../../../consumer/redis/tcp-client.ts";
import { MailboxLease } from "../../../consumer/runtime/mailbox-lease.ts";
import { inject } from "vitest";

const USER = "support@example.com";
const PASSWORD = "imap-secret";

let dovecot: Dovecot;
let q: TestQueue;
let directory: MemoryDirectory;
const redis = () => createTcpRedis(inject("redisUrl"));

beforeAll(async () => {
  dovecot = await startDovecot([{ user: USER, password: PASSWORD }]);
  q = testQueue("tcp");
  const mailbox: MailboxRecord = {
    providerId: "imap-provider-1",
    tenantId: "tenant-1",
    kind: "imap",
    address: USER,
    credentials: { type: "imap", host: dovecot.host, port: dovecot.port, secure: false, user: USER, password: PASSWORD },
    cursors: {},
    bulkMailOpensTickets: false,
  };
  directory = new MemoryDirectory([mailbox]);
});

afterAll(async () => {
  await dovecot?.stop();
  await q?.close();
});

function message(n: number): string {
  return [`From: Customer ${n} <customer${n}@example.org>`, `To: ${USER}`, `Subject: Help request ${n}`, `Message-ID: <msg-${n}@example.org>`, `Date: ${new Date().toUTCString()}`, "", `Body ${n}`, ""].join("\r\n");
}

async function deliver(from: number, count: number) {
  for (let n = from; n < from + count; n++) await dovecot.deliver(USER, message(n));
}

function listener() {
  const client = redis();
  const logs = captureLogs();
  const l = new ImapListener({
    listMailboxes: () => directory.list("imap"),
    directory,
    scripts: new TcpScriptClient(client),
    leasePrefix: `${q.settings.keys.ready}:imap-lease:`,
    ingressUrl: "http://unused.invalid",
    webhookSecret: "unused",
    log: logs.log,
    refreshMs: 500,
    leaseTtlMs: 3000,
    // Stand-in for the ingress: the pointers go straight to the queue, with no dedupe, so a
    // listener that sent a UID twice would show up as a duplicate in the ready list.
    notify: async (n) => {
      await q.queue.enqueue(n.uids.map((uid) => ({ job: { provider: "imap" as const, tenantId: "tenant-1", providerId: n.providerId, pointer: { mailbox: n.mailbox, uidValidity: n.uidValidity, uid } } })));
    },
  });
  return { listener: l, logs, close: () => client.disconnect() };
}

async function readyPointers(): Promise<{ uidValidity: string; uid: number }[]> {
  const raws = (await readyRaws(q)).reverse();
  return raws.map((r) => (JSON.parse(r) as { pointer: { uidValidity: string; uid: number } }).pointer);
}

async function waitForReady(count: number, ms = 30_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await readyRaws(q)).length >= count) return;
    await sleep(100);
  }
  throw new Error(`the queue holds ${(await readyRaws(q)).length} of ${count} ready`);
}

/** Message-IDs of the pointers in the ready list, looked up on the server. */
async function messageIdsOfReady(): Promise<string[]> {
  const client = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: USER, pass: PASSWORD }, logger: false });
  await client.connect();
  const opened = await client.mailboxOpen("INBOX", { readOnly: true });
  const current = String(opened.uidValidity);
  const byUid = new Map<number, string>();
  for await (const m of client.fetch("1:*", { uid: true, envelope: true })) byUid.set(m.uid, m.envelope?.messageId ?? "");
  await client.logout();
  return (await readyPointers()).filter((p) => p.uidValidity === current).map((p) => byUid.get(p.uid) ?? `missing uid ${p.uid}`);
}

describe("IMAP listener against Dovecot", () => {
  it("starts from now, not from the mailbox's history", async () => {
    await deliver(0, 3); // old mail, before the mailbox was connected
    const { listener: l, close } = listener();
    await l.start();
    await sleep(1000);
    expect(await readyRaws(q)).toHaveLength(0);
    expect(l.watching).toEqual(["imap-provider-1"]);
    await l.stop();
    close();
  });

  it("200 while it runs, 50 while stopped, a UIDVALIDITY change, a server restart: every message reaches the ready list exactly once", async () => {
    const first = listener();
    await first.listener.start();
    await sleep(500);
    await deliver(100, 200);
    await waitForReady(200);
    await first.listener.stop();
    first.close();

    await deliver(300, 50); // while nobody watches
    const second = listener();
    await second.listener.start();
    await waitForReady(250);
    await second.listener.stop();
    second.close();

    // UIDVALIDITY changes (mailbox rebuilt): old UIDs mean nothing; nothing is sent twice, nothing new is missed.
    await dovecot.setUidValidity(USER, 4242);
    await dovecot.restart();
    await sleep(1100); // the next arrivals get a later INTERNALDATE second than the last one sent
    await deliver(350, 10);
    const third = listener();
    await third.listener.start();
    await waitForReady(260);
    expect(third.logs.events("imap_listener_uidvalidity_changed")).toHaveLength(1);

    // The server restarts under a running listener: it reconnects and catches up.
    await dovecot.restart();
    await deliver(360, 20);
    await waitForReady(280);
    await sleep(1500); // room for a duplicate to show up, if there were one
    await third.listener.stop();
    third.close();

    const pointers = await readyPointers();
    expect(pointers).toHaveLength(280);
    const keys = pointers.map((p) => `${p.uidValidity}:${p.uid}`);
    expect(new Set(keys).size).toBe(280);
    const sentAfterChange = await messageIdsOfReady();
    expect(sentAfterChange.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `<msg-${350 + i}@example.org>`).sort());
    expect(pointers.filter((p) => p.uidValidity !== "4242")).toHaveLength(250);
    expect((await directory.get("imap-provider-1"))?.cursors).toMatchObject({ imapUidValidity: "4242", needsResync: false });
  });

  it("two listeners (replicas) never watch the same mailbox at once", async () => {
    const a = listener();
    const b = listener();
    await a.listener.start();
    await b.listener.start();
    expect(a.listener.watching).toEqual(["imap-provider-1"]);
    expect(b.listener.watching).toEqual([]);
    await a.listener.stop(); // releases the lease: b takes over at its next refresh
    await sleep(800);
    expect(b.listener.watching).toEqual(["imap-provider-1"]);
    await b.listener.stop();
    a.close();
    b.close();
  });

  it("a replica that died holding the lease (SIGKILL: no release) loses its mailbox after the lease TTL: the next listener watches it within the TTL and a refresh", async () => {
    const client = redis();
    const dead = new MailboxLease(new TcpScriptClient(client), `${q.settings.keys.ready}:imap-lease:imap-provider-1`, "replica-killed-mid-renewal", 3000);
    expect(await dead.acquire()).toBe(true);
    const next = listener(); // leaseTtlMs 3000, refreshMs 500 (the consumer renews every third of INLET_IMAP_LEASE_TTL_MS)
    const began = Date.now();
    await next.listener.start();
    expect(next.listener.watching).toEqual([]);
    while (next.listener.watching.length === 0 && Date.now() - began < 10_000) await sleep(50);
    expect(next.listener.watching).toEqual(["imap-provider-1"]);
    expect(Date.now() - began).toBeLessThanOrEqual(3000 + 500 + 500);
    await next.listener.stop();
    next.close();
    client.disconnect();
  });
});
