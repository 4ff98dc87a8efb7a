// ScriptClient over the Upstash REST API with nothing but fetch: one POST per script call,
//   POST <url>   Authorization: Bearer <token>   ["EVALSHA", sha1, numkeys, ...keys, ...args]
//   → 200 {"result": ...} | 4xx/5xx {"error": "..."}
// then EVAL with the source when Redis answers NOSCRIPT. The edge uses it instead of
// @upstash/redis (./upstash.ts, which the consumer keeps): the Worker runs one command per
// request, so it needs neither auto-pipelining nor base64 result decoding, and the bundle is
// 170 KB smaller. Replies are JSON as Upstash encodes them: strings, integers, null, arrays.
import { isNoScriptError, type LuaScript, type ScriptArg, type ScriptClient, type ScriptReply } from "./script.ts";

export interface RestScriptClientOptions {
  url: string;
  token: string;
  /** Per call, default 10 s (Graph counts an answer slower than 10 s against the endpoint). */
  timeoutMs?: number;
  /** Retries after a network error (never after Redis answered), default 1. */
  retries?: number;
}

export class RestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export class RestScriptClient implements ScriptClient {
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #retries: number;

  constructor(options: RestScriptClientOptions) {
    this.#url = options.url;
    this.#headers = { authorization: `Bearer ${options.token}`, "content-type": "application/json" };
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 1;
  }

  async run(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<ScriptReply> {
    const rest = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await this.#command(["EVALSHA", script.sha1, ...rest]);
    } catch (error) {
      if (!isNoScriptError(error)) throw error;
      return this.#command(["EVAL", script.source, ...rest]);
    }
  }

  async #command(command: string[]): Promise<ScriptReply> {
    const body = JSON.stringify(command);
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(this.#url, { method: "POST", headers: this.#headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
      } catch (error) {
        if (attempt < this.#retries) continue;
        throw error;
      }
      const reply = (await response.json().catch(() => ({ error: `the REST endpoint answered ${response.status} without JSON` }))) as { result?: ScriptReply; error?: string };
      if (typeof reply.error === "string") throw new RestError(response.status, reply.error);
      if (!response.ok || !("result" in reply)) throw new RestError(response.status, `the REST endpoint answered ${response.status}`);
      return reply.result ?? null;
    }
  }
}
