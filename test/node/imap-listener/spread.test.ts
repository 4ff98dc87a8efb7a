// The IMAP listener spread across replicas, each a heartbeat and a listener on its own Redis
// client in this process, against a real Redis and a real Dovecot with 12 mailboxes: each holds
// its share, a joining replica makes the others hand back, a replica that stops renewing (a
// crash, or cut off from Redis) has its mailboxes watched again within the lease TTL, and mail
// delivered all through the hand-overs reaches the queue exactly once.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ImapListener } from "../../../consumer/imap-listener/listener.ts";
import type { MailboxRecord } from "../../../consumer/domain/mailbox.ts";
import { ReplicaHeartbeat } from "../../../consumer/runtime/replica-heartbeat.ts";
import { createTcpRedis, TcpScriptClient } from "../../../consumer/redis/tcp-client.ts";
import type { LuaScript, ScriptArg, ScriptClient } from "../../../src/queue/script.ts";
import { startDovecot, type Dovecot } from "../../../dev/dovecot.ts";
import { captureLogs } from "../../support/log-capture.ts";
import { MemoryDirectory } from "../../support/mailboxes.ts";
import { sleep, testQueue, uniquePrefix, type TestQueue } from "../../support/queues.ts";

const MAILBOXES = 12;
const LEASE_TTL_MS = 3000;
const REFRESH_MS = 1000;
const REPLICA_TTL_MS = 3000;
const users = Array.from({ length: MAILBOXES }, (_, i) => ({ user: `spread${i}@example.com`, password: `pw-${i}` }));

let dovecot: Dovecot;
let q: TestQueue;

beforeAll(async () => {
  dovecot = await startDovecot(users);
  q = testQueue("tcp");
});

afterAll(async () => {
  await dovecot?.stop();
  await q?.close();
});

/** A Redis client that can be cut off: every call fails from then on, as for a replica that
 * crashed or lost Redis (it renews nothing more, its heartbeat stops). */
class SeverableScripts implements ScriptClient {
  readonly #inner: ScriptClient;
  severed = false;
  constructor(inner: ScriptClient) {
    this.#inner = inner;
  }
  run(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]) {
    return this.severed ? Promise.reject(new Error("connection lost")) : this.#inner.run(script, keys, args);
  }
}

interface Scenario {
  directory: MemoryDirectory;
  prefix: string;
  /** Every (mailbox, UID) any listener sent, in order. */
  posted: string[];
}

function scenario(): Scenario {
  const directory = new MemoryDirectory(
    users.map((u, i): MailboxRecord => ({
      providerId: `imap-${i}`,
      tenantId: "tenant-1",
      kind: "imap",
      address: u.user,
      credentials: { type: "imap", host: dovecot.host, port: dovecot.port, secure: false, user: u.user, password: u.password },
      cursors: {},
      bulkMailOpensTickets: false,
    })),
  );
  return { directory, prefix: uniquePrefix("spread"), posted: [] };
}

interface TestReplica {
  listener: ImapListener;
  heartbeat: ReplicaHeartbeat;
  scripts: SeverableScripts;
  logs: ReturnType<typeof captureLogs>;
  /** A clean stop: watchers stopped, leases released, the live set left. */
  stop(): Promise<void>;
  /** Stop renewing anything, as a crashed replica does. */
  crash(): void;
  close(): Promise<void>;
}

async function replica(s: Scenario, name: string, maxMailboxes?: number): Promise<TestReplica> {
  const redis = createTcpRedis(inject("redisUrl"));
  const scripts = new SeverableScripts(new TcpScriptClient(redis));
  const logs = captureLogs();
  const heartbeat = new ReplicaHeartbeat({ scripts, prefix: s.prefix, ttlMs: REPLICA_TTL_MS, log: logs.log, id: `${name}-${s.prefix}`, capacity: maxMailboxes });
  const listener = new ImapListener({
    listMailboxes: () => s.directory.list("imap"),
    directory: s.directory,
    scripts,
    leasePrefix: `${s.prefix}imap-watch:`,
    ingressUrl: "http://unused.invalid",
    webhookSecret: "unused",
    log: logs.log,
    refreshMs: REFRESH_MS,
    leaseTtlMs: LEASE_TTL_MS,
    replicas: heartbeat,
    maxMailboxes,
    // Stand-in for the ingress, with no dedupe: a UID sent twice would show up.
    notify: async (n) => {
      for (const uid of n.uids) s.posted.push(`${n.providerId}:${n.uidValidity}:${uid}`);
    },
  });
  heartbeat.onChange = () => void listener.refresh();
  await heartbeat.start();
  await listener.start();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await listener.stop();
    await heartbeat.stop();
    redis.disconnect();
  };
  return {
    listener,
    heartbeat,
    scripts,
    logs,
    stop: close,
    crash: () => void (scripts.severed = true),
    close,
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

const watching = (rs: TestReplica[]) => rs.map((r) => r.listener.watching.length);
const allWatchedOnce = (rs: TestReplica[]) => {
  const all = rs.flatMap((r) => r.listener.watching);
  return all.length === MAILBOXES && new Set(all).size === MAILBOXES;
};

/** Every watcher has connected and stored its cursor, so mail delivered from now on is sent. */
const cursorsStored = (s: Scenario) => async () => (await s.directory.list("imap")).every((m) => m.cursors.imapLastUid !== undefined);

function message(mailbox: number, n: number): string {
  return [`From: Customer <c${n}@example.org>`, `To: ${users[mailbox]!.user}`, `Subject: Spread ${mailbox}/${n}`, `Message-ID: <spread-${mailbox}-${n}@example.org>`, `Date: ${new Date().toUTCString()}`, "", `Body ${n}`, ""].join("\r\n");
}

describe("IMAP listener spread across replicas", () => {
  it("three replicas each hold their share (4 of 12), no mailbox twice; a fourth joining makes the others hand back until each holds 3", async () => {
    const s = scenario();
    const rs = [await replica(s, "a"), await replica(s, "b"), await replica(s, "c")];
    await until("each of three holds 4", () => watching(rs).every((n) => n === 4) && allWatchedOnce(rs));
    const handedBackSoFar = rs.map((r) => r.logs.events("imap_listener_stopped_watching").length);
    rs.push(await replica(s, "d"));
    await until("each of four holds 3", () => watching(rs).every((n) => n === 3) && allWatchedOnce(rs));
    const handedBack = rs.slice(0, 3).flatMap((r, i) => r.logs.events("imap_listener_stopped_watching").slice(handedBackSoFar[i]));
    expect(handedBack.every((e) => e.reason === "handed back")).toBe(true);
    // The bounded share may move one more between the others, never fewer than the joiner's 3.
    expect(handedBack.length).toBeGreaterThanOrEqual(3);
    const toJoiner = handedBack.filter((e) => e.to === rs[3]!.heartbeat.id).map((e) => e.providerId);
    expect(toJoiner.sort()).toEqual([...rs[3]!.listener.watching].sort());
    expect(rs[3]!.heartbeat.live).toHaveLength(4);
    // A clean stop leaves at once: the other three share its mailboxes again.
    await rs[3]!.stop();
    await until("each of three holds 4 again", () => watching(rs.slice(0, 3)).every((n) => n === 4) && allWatchedOnce(rs.slice(0, 3)));
    await Promise.all(rs.map((r) => r.close()));
  });

  it("INLET_IMAP_MAX_MAILBOXES caps a replica: it watches 2 of 12, and the other replica takes the 10 it leaves; a live replica with its listener off is given none", async () => {
    const s = scenario();
    const redis = createTcpRedis(inject("redisUrl"));
    const listenerOff = new ReplicaHeartbeat({ scripts: new TcpScriptClient(redis), prefix: s.prefix, ttlMs: REPLICA_TTL_MS, log: captureLogs().log, capacity: 0 });
    await listenerOff.start();
    const rs = [await replica(s, "capped", 2), await replica(s, "open")];
    await until("2 and 10", () => rs[0]!.listener.watching.length === 2 && rs[1]!.listener.watching.length === 10 && allWatchedOnce(rs));
    expect(rs[1]!.heartbeat.live.map((r) => r.capacity).sort()).toEqual([0, 2, undefined]);
    await Promise.all(rs.map((r) => r.close()));
    await listenerOff.stop();
    redis.disconnect();
  });

  it("a replica that stops renewing (crash: no release) stops its own watchers, and its mailboxes are watched again by the others within the lease TTL", async () => {
    const s = scenario();
    const rs = [await replica(s, "a"), await replica(s, "b"), await replica(s, "c")];
    await until("each holds 4", () => watching(rs).every((n) => n === 4) && allWatchedOnce(rs));
    const dead = rs[2]!;
    const orphans = [...dead.listener.watching];
    const crashedAt = Date.now();
    dead.crash();
    const survivors = rs.slice(0, 2);
    // The lease runs out at most LEASE_TTL_MS after the crash; a survivor's refresh follows within REFRESH_MS.
    await until("the orphans are watched again", () => orphans.every((id) => survivors.some((r) => r.listener.watching.includes(id))), LEASE_TTL_MS + REFRESH_MS + 2000);
    const tookOverMs = Date.now() - crashedAt;
    expect(dead.listener.watching).toEqual([]);
    expect(dead.logs.events("imap_listener_stopped_watching").filter((e) => e.reason === "lease could not be renewed in time")).toHaveLength(4);
    await until("each survivor holds 6", () => watching(survivors).every((n) => n === 6) && allWatchedOnce(survivors));
    expect(tookOverMs).toBeLessThanOrEqual(LEASE_TTL_MS + REFRESH_MS + 2000);
    await Promise.all(rs.map((r) => r.close()));
  });

  it("mail delivered all through a join, a crash and a clean stop reaches the queue exactly once", async () => {
    const s = scenario();
    const rs = [await replica(s, "a"), await replica(s, "b")];
    await until("each holds 6", () => watching(rs).every((n) => n === 6) && allWatchedOnce(rs));
    await until("every cursor stored", cursorsStored(s));

    const delivered: string[] = [];
    let delivering = true;
    const deliverer = (async () => {
      for (let n = 0; delivering || n < 10; n++) {
        for (let m = 0; m < MAILBOXES; m++) {
          await dovecot.deliver(users[m]!.user, message(m, n));
          delivered.push(`spread-${m}-${n}`);
        }
      }
    })();
    rs.push(await replica(s, "c")); // a join: the others hand back 2 each
    await until("each of three holds 4", () => watching(rs).every((n) => n === 4) && allWatchedOnce(rs));
    rs[0]!.crash(); // a crash: its 4 are taken over once its leases run out
    const live = rs.slice(1);
    await until("the two others hold 6 each", () => watching(live).every((n) => n === 6) && allWatchedOnce(live));
    await live[0]!.stop(); // a clean stop: the last one takes everything
    await until("the last holds all 12", () => live[1]!.listener.watching.length === MAILBOXES);
    delivering = false;
    await deliverer;

    // Every delivered message sent on once, by UID (the posts carry UIDs; count them per mailbox).
    const perMailbox = (list: string[]) => {
      const out: Record<string, number> = {};
      for (const p of list) {
        const id = /^imap-(\d+):/.exec(p)?.[1] ?? /^spread-(\d+)-/.exec(p)?.[1] ?? "?";
        out[id] = (out[id] ?? 0) + 1;
      }
      return out;
    };
    await until("every delivered message sent on", () => s.posted.length >= delivered.length, 30_000);
    await sleep(REFRESH_MS * 2); // room for a duplicate to show up, if there were one
    expect(new Set(s.posted).size).toBe(s.posted.length);
    expect(perMailbox(s.posted)).toEqual(perMailbox(delivered));
    await Promise.all(rs.map((r) => r.close()));
  });
});
