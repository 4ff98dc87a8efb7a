// ScriptClient over the Upstash REST API with @upstash/redis: runs in the Worker and in Node.
import { Redis } from "@upstash/redis";
import { isNoScriptError, type LuaScript, type ScriptArg, type ScriptClient, type ScriptReply } from "./script.ts";

export interface UpstashOptions {
  url: string;
  token: string;
  /** Retries on network errors inside @upstash/redis; the queue's callers decide on the rest. */
  retries?: number;
}

export function createUpstashRedis(options: UpstashOptions): Redis {
  return new Redis({
    url: options.url,
    token: options.token,
    // Job payloads are JSON strings: they must come back as the exact strings Redis holds.
    automaticDeserialization: false,
    retry: options.retries === 0 ? false : { retries: options.retries ?? 2, backoff: (n) => 50 * 2 ** n },
  });
}

export class UpstashScriptClient implements ScriptClient {
  readonly redis: Redis;

  constructor(redis: Redis) {
    this.redis = redis;
  }

  async run(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<ScriptReply> {
    const argv = args.map(String);
    try {
      return await this.redis.evalsha<string[], ScriptReply>(script.sha1, [...keys], argv);
    } catch (error) {
      if (!isNoScriptError(error)) throw error;
      return await this.redis.eval<string[], ScriptReply>(script.source, [...keys], argv);
    }
  }
}
