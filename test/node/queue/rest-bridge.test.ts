// The Upstash-compatible REST endpoint: auth, pipeline, multi-exec, base64, script errors.
import { afterAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { Redis } from "ioredis";
import { createUpstashRedis, UpstashScriptClient } from "../../../src/queue/upstash.ts";
import { uniquePrefix } from "../../support/queues.ts";

const url = () => inject("restUrl");
const token = () => inject("restToken");
const prefix = uniquePrefix("bridge");
const redis = new Redis(inject("redisUrl"));
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url()}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token()}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

describe("REST endpoint", () => {
  it("refuses requests without the bearer token (401)", async () => {
    const none = await fetch(url(), { method: "POST", body: '["PING"]' });
    expect(none.status).toBe(401);
    const wrong = await fetch(url(), { method: "POST", body: '["PING"]', headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect(await post("/", ["PING"])).toEqual({ status: 200, body: { result: "PONG" } });
  });

  it("runs one command, returning {result} or 400 {error}", async () => {
    expect(await post("/", ["SET", `${prefix}a`, "1"])).toEqual({ status: 200, body: { result: "OK" } });
    expect(await post("/", ["INCR", `${prefix}a`])).toEqual({ status: 200, body: { result: 2 } });
    expect(await post("/", ["GET", `${prefix}missing`])).toEqual({ status: 200, body: { result: null } });
    const bad = await post("/", ["LPUSH", `${prefix}a`, "x"]);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.stringContaining("WRONGTYPE") });
    expect((await post("/", "{not json")).status).toBe(400);
    expect((await post("/", { cmd: "PING" })).status).toBe(400);
    expect((await post("/", ["BLPOP", `${prefix}l`, "1"])).body).toEqual({ error: expect.stringContaining("not available") });
  });

  it("pipelines without atomicity: each command answers on its own", async () => {
    const { status, body } = await post("/pipeline", [["SET", `${prefix}p`, "v"], ["LPUSH", `${prefix}p`, "x"], ["GET", `${prefix}p`]]);
    expect(status).toBe(200);
    expect(body).toEqual([{ result: "OK" }, { error: expect.stringContaining("WRONGTYPE") }, { result: "v" }]);
  });

  it("multi-exec runs the commands as one transaction", async () => {
    const { status, body } = await post("/multi-exec", [["INCR", `${prefix}m`], ["INCR", `${prefix}m`], ["LRANGE", `${prefix}none`, "0", "-1"]]);
    expect(status).toBe(200);
    expect(body).toEqual([{ result: 1 }, { result: 2 }, { result: [] }]);
    const aborted = await post("/multi-exec", [["INCR", `${prefix}m`], ["NOSUCHCOMMAND"]]);
    expect(aborted.status).toBe(400);
    expect(await redis.get(`${prefix}m`)).toBe("2"); // nothing of the aborted transaction ran
  });

  it("answers in base64 when the client asks with Upstash-Encoding", async () => {
    await redis.set(`${prefix}b`, "héllo {\"json\":true}");
    const { body } = await post("/", ["GET", `${prefix}b`], { "upstash-encoding": "base64" });
    expect(body).toEqual({ result: Buffer.from("héllo {\"json\":true}").toString("base64") });
    const list = await post("/pipeline", [["LPUSH", `${prefix}bl`, "a", "b"], ["LRANGE", `${prefix}bl`, "0", "-1"]], { "upstash-encoding": "base64" });
    expect(list.body).toEqual([{ result: 2 }, { result: ["Yg==", "YQ=="] }]);
  });

  it("returns script errors as Upstash does, and @upstash/redis falls back from EVALSHA to EVAL", async () => {
    const noscript = await post("/", ["EVALSHA", "0000000000000000000000000000000000000000", "0"]);
    expect(noscript).toEqual({ status: 400, body: { error: expect.stringMatching(/^NOSCRIPT/) } });
    const failing = await post("/", ["EVAL", "return redis.call('INCR', KEYS[1])", "1", `${prefix}p`]);
    expect(failing.status).toBe(400);
    expect(failing.body).toEqual({ error: expect.stringContaining("ERR") });

    const client = new UpstashScriptClient(createUpstashRedis({ url: url(), token: token() }));
    const source = `return {KEYS[1], ARGV[1], ${Date.now()}}`; // a script this Redis has never seen
    const script = { name: "probe", keys: 1, source, sha1: (await import("node:crypto")).createHash("sha1").update(source).digest("hex") };
    expect(await client.run(script, [`${prefix}k`], ["{\"a\":1}"])).toEqual([`${prefix}k`, "{\"a\":1}", expect.any(Number)]);
    expect(await client.run(script, [`${prefix}k`], ["x"])).toEqual([`${prefix}k`, "x", expect.any(Number)]);
  });
});
