// Queues for tests: a fresh key prefix per queue, over TCP (ioredis) or over the REST bridge
// (@upstash/redis), plus a plain ioredis connection to look inside.
import { inject } from "vitest";
import { Redis } from "ioredis";
import { queueKeys, queueSettings, type QueueSettings } from "../../src/queue/config.ts";
import { PointerQueue, type Claim } from "../../src/queue/queue.ts";
import { createUpstashRedis, UpstashScriptClient } from "../../src/queue/upstash.ts";
import { createTcpRedis, TcpScriptClient } from "../../consumer/redis/tcp-client.ts";
import type { NewJob } from "../../src/queue/job.ts";

export type Transport = "tcp" | "rest";
export const transports: Transport[] = ["tcp", "rest"];

export interface TestQueue {
  transport: Transport;
  settings: QueueSettings;
  /** Each call gives another consumer (its own client and token prefix) on the same keys. */
  consumer(): PointerQueue;
  queue: PointerQueue;
  redis: Redis;
  close(): Promise<void>;
}

let counter = 0;

export function uniquePrefix(label = "q"): string {
  return `test:${label}:${process.pid}:${Date.now().toString(36)}:${(counter++).toString(36)}:`;
}

export function testQueue(transport: Transport, overrides: Partial<Omit<QueueSettings, "keys">> = {}): TestQueue {
  const settings: QueueSettings = { ...queueSettings({}), keys: queueKeys(uniquePrefix(transport)), ...overrides };
  const redis = new Redis(inject("redisUrl"));
  const connections: { close(): void }[] = [];
  const consumer = () => {
    if (transport === "tcp") {
      const tcp = createTcpRedis(inject("redisUrl"));
      connections.push({ close: () => tcp.disconnect() });
      return new PointerQueue(new TcpScriptClient(tcp), settings);
    }
    return new PointerQueue(new UpstashScriptClient(createUpstashRedis({ url: inject("restUrl"), token: inject("restToken") })), settings);
  };
  return {
    transport,
    settings,
    consumer,
    queue: consumer(),
    redis,
    async close() {
      const keys = await redis.keys(`${settings.keys.ready.replace(/ready$/, "")}*`);
      if (keys.length) await redis.del(...keys);
      connections.forEach((c) => c.close());
      redis.disconnect();
    },
  };
}

export function imapJob(uid: number, overrides: Partial<NewJob> = {}): NewJob {
  return { provider: "imap", tenantId: "tenant-1", providerId: "provider-1", pointer: { mailbox: "INBOX", uidValidity: "42", uid }, ...overrides } as NewJob;
}

/** The UID an IMAP test job carries (the tests' jobs are IMAP pointers). */
export const uidOf = (claim: Claim) => (claim.job.provider === "imap" ? claim.job.pointer.uid : 0);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every job waiting to be claimed, raw: the arrivals list, then each tenant's lane (front, the
 * next to be claimed, first). */
export async function readyRaws(q: TestQueue): Promise<string[]> {
  const { keys } = q.settings;
  const raws = (await q.redis.lrange(keys.ready, 0, -1)).reverse();
  for (const lane of (await q.redis.keys(`${keys.lanes}*`)).sort()) raws.push(...(await q.redis.lrange(lane, 0, -1)).reverse());
  return raws;
}

/** Where a job is right now; an invariant check wants exactly one place (or none once acked). */
export async function locate(q: TestQueue, jobId: string): Promise<string[]> {
  const { keys } = q.settings;
  const places: string[] = [];
  const has = (raws: string[], field = "jobId") =>
    raws.some((raw) => {
      try {
        const v = JSON.parse(raw) as Record<string, unknown>;
        const job = (v.job ?? v) as Record<string, unknown>;
        return job[field] === jobId;
      } catch {
        return false;
      }
    });
  if (has(await readyRaws(q))) places.push("ready");
  if (has(await q.redis.zrange(keys.delayed, "0", "-1"))) places.push("delayed");
  const inProcessing = has(await q.redis.lrange(keys.processing, 0, -1));
  const lease = await q.redis.zscore(keys.lease, jobId);
  const inflight = await q.redis.hexists(keys.inflight, jobId);
  if (inProcessing && lease !== null && inflight) places.push("processing");
  else if (inProcessing || inflight) places.push("processing-without-lease");
  if (has(await q.redis.lrange(keys.dlq, 0, -1))) places.push("dlq");
  return places;
}
