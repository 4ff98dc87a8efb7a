// One queue client per isolate and configuration: building @upstash/redis clients per request
// would throw away their keep-alive connections.
import { queueSettings } from "./queue/config.ts";
import { PointerQueue } from "./queue/queue.ts";
import { createUpstashRedis, UpstashScriptClient } from "./queue/upstash.ts";
import type { Env } from "./env.ts";

const cache = new Map<string, PointerQueue>();

export function queueFor(env: Env): PointerQueue {
  const key = JSON.stringify([env.UPSTASH_REDIS_REST_URL, env.UPSTASH_REDIS_REST_TOKEN, env.UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX ?? ""]);
  let queue = cache.get(key);
  if (!queue) {
    const redis = createUpstashRedis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, retries: 1 });
    queue = new PointerQueue(new UpstashScriptClient(redis), queueSettings(env as unknown as Record<string, string | undefined>));
    cache.set(key, queue);
  }
  return queue;
}
