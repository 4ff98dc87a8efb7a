// Which Redis the consumer and the CLI talk to: REDIS_URL (TCP, with the blocking wake) when
// set, else the Upstash REST API when UPSTASH_REDIS_REST_URL/TOKEN are set, else local Redis.
import { queueSettings, type Env } from "../../src/queue/config.ts";
import { PointerQueue } from "../../src/queue/queue.ts";
import type { ScriptClient } from "../../src/queue/script.ts";
import { createUpstashRedis, UpstashScriptClient } from "../../src/queue/upstash.ts";
import { createTcpRedis, TcpScriptClient, WakeListener } from "../redis/tcp-client.ts";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

export interface QueueConnection {
  queue: PointerQueue;
  transport: "tcp" | "rest";
  /** The script client the queue runs on, for other scripts over the same connection (mailbox leases). */
  scripts: ScriptClient;
  /** Where it connects, without credentials (for logs and messages). */
  target: string;
  wake: WakeListener | undefined;
  close(): void;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = u.password ? "***" : "";
    return u.toString();
  } catch {
    return "(invalid url)";
  }
}

export function connectQueue(env: Env, options: { wake?: boolean; failFast?: boolean } = {}): QueueConnection {
  const settings = queueSettings(env);
  const restUrl = env.UPSTASH_REDIS_REST_URL;
  const restToken = env.UPSTASH_REDIS_REST_TOKEN;
  if (!env.REDIS_URL && restUrl && restToken) {
    const scripts = new UpstashScriptClient(createUpstashRedis({ url: restUrl, token: restToken, retries: options.failFast ? 0 : 2 }));
    return { queue: new PointerQueue(scripts, settings), transport: "rest", scripts, target: redactUrl(restUrl), wake: undefined, close() {} };
  }
  const url = env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const redis = createTcpRedis(url, options.failFast ? { failFast: true } : {});
  const wake = options.wake ? new WakeListener(url, settings.keys.wake) : undefined;
  const scripts = new TcpScriptClient(redis);
  return {
    queue: new PointerQueue(scripts, settings),
    transport: "tcp",
    scripts,
    target: redactUrl(url),
    wake,
    close() {
      wake?.close();
      redis.disconnect();
    },
  };
}
