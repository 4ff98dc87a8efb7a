// The one thing a queue client must do: run a Lua script by SHA, loading it when Redis does not
// know it yet (EVALSHA, then EVAL on NOSCRIPT). Implemented over Upstash REST (./upstash.ts)
// and over Redis TCP (consumer/redis/tcp-client.ts).

export interface LuaScript {
  readonly name: string;
  /** How many KEYS the script takes. */
  readonly keys: number;
  readonly sha1: string;
  readonly source: string;
}

export type ScriptArg = string | number;

/** What Redis returns from a script, as both clients decode it. */
export type ScriptReply = string | number | null | ScriptReply[];

export interface ScriptClient {
  run(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<ScriptReply>;
}

export function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.includes("NOSCRIPT");
}
