// ScriptClient over Redis TCP with ioredis, plus the blocking wake an idle consumer waits on
// (BZPOPMIN on the marker key, on a connection of its own so claims are never stuck behind it).
import { Redis } from "ioredis";
import { isNoScriptError, type LuaScript, type ScriptArg, type ScriptClient, type ScriptReply } from "../../src/queue/script.ts";

export function createTcpRedis(url: string, options: { failFast?: boolean } = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: options.failFast ? 0 : 2,
    // A command-line call should say "unreachable" in seconds, not retry forever.
    ...(options.failFast ? { connectTimeout: 2000, retryStrategy: () => null, enableOfflineQueue: true } : {}),
    // Measured: auto-pipelining halves throughput here (each claim and ack is one script call
    // already; grouping them only adds per-tick bookkeeping). See bench/results/queue.md.
    enableAutoPipelining: false,
    lazyConnect: false,
  });
  // Connection errors reach callers as failed commands; without a listener ioredis would also
  // print each reconnect attempt's error to stderr.
  redis.on("error", () => undefined);
  return redis;
}

export class TcpScriptClient implements ScriptClient {
  readonly redis: Redis;

  constructor(redis: Redis) {
    this.redis = redis;
  }

  async run(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<ScriptReply> {
    try {
      return (await this.redis.evalsha(script.sha1, keys.length, ...keys, ...args)) as ScriptReply;
    } catch (error) {
      if (!isNoScriptError(error)) throw error;
      return (await this.redis.eval(script.source, keys.length, ...keys, ...args)) as ScriptReply;
    }
  }
}

export interface Wake {
  /** 'ready' (work waits now) or 'delayed' (a retry is due at `at`). */
  member: string;
  at: number;
}

/** Blocks on the wake marker; undefined on timeout. One instance per consumer process. */
export class WakeListener {
  readonly #redis: Redis;
  readonly #key: string;

  constructor(url: string, key: string) {
    this.#redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
    this.#redis.on("error", () => undefined);
    this.#key = key;
  }

  async wait(timeoutSeconds: number): Promise<Wake | undefined> {
    const reply = await this.#redis.bzpopmin(this.#key, timeoutSeconds);
    if (!reply) return undefined;
    const [, member, score] = reply;
    return { member, at: Number(score) };
  }

  /** Unblock a waiting wait() and close. */
  close(): void {
    this.#redis.disconnect();
  }
}
