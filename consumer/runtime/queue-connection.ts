// The queue over the Redis the configuration names: TCP (with the blocking wake) or the Upstash
// REST API.
import { PointerQueue } from "../../src/queue/queue.ts";
import type { ScriptClient } from "../../src/queue/script.ts";
import { createUpstashRedis, UpstashScriptClient } from "../../src/queue/upstash.ts";
import { createTcpRedis, TcpScriptClient, WakeListener } from "../redis/tcp-client.ts";
import type { QueueConnectionConfig } from "../config.ts";

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

export function connectQueue(config: QueueConnectionConfig, options: { wake?: boolean; failFast?: boolean } = {}): QueueConnection {
  const { redis, settings } = config;
  if (redis.transport === "rest") {
    const scripts = new UpstashScriptClient(createUpstashRedis({ url: redis.url, token: redis.token, retries: options.failFast ? 0 : 2 }));
    return { queue: new PointerQueue(scripts, settings), transport: "rest", scripts, target: redactUrl(redis.url), wake: undefined, close() {} };
  }
  const tcp = createTcpRedis(redis.url, options.failFast ? { failFast: true } : {});
  const wake = options.wake ? new WakeListener(redis.url, settings.keys.wake) : undefined;
  const scripts = new TcpScriptClient(tcp);
  return {
    queue: new PointerQueue(scripts, settings),
    transport: "tcp",
    scripts,
    target: redactUrl(redis.url),
    wake,
    close() {
      wake?.close();
      tcp.disconnect();
    },
  };
}
