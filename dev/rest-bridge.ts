// An Upstash-compatible REST endpoint in front of a real Redis, for local runs and tests:
//   POST /            body: ["CMD", "arg", ...]              → {result} | 400 {error}
//   POST /pipeline    body: [["CMD", ...], ...] (not atomic) → [{result} | {error}, ...]
//   POST /multi-exec  body: [["CMD", ...], ...] (atomic)     → [{result} | {error}, ...]
// Authorization: Bearer <token> (or ?_token=); `Upstash-Encoding: base64` returns strings in
// base64, as @upstash/redis asks by default. Blocking commands are refused, as Upstash does.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { Redis } from "ioredis";
import { z } from "zod";

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const BLOCKING = new Set(["blpop", "brpop", "brpoplpush", "blmove", "bzpopmin", "bzpopmax", "blmpop", "bzmpop", "xread", "xreadgroup", "wait", "subscribe", "psubscribe", "monitor"]);

const arg = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const command = z.array(arg).min(1);
const commands = z.array(command).min(1);

type Reply = string | number | null | Reply[];
type Outcome = { result: Reply } | { error: string };

export interface RestBridgeOptions {
  redisUrl: string;
  token: string;
  host?: string;
  port?: number;
}

export interface RestBridge {
  url: string;
  server: Server;
  close(): Promise<void>;
}

function encodeReply(value: unknown, base64: boolean): Reply {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  if (Buffer.isBuffer(value)) {
    const text = value.toString("utf8");
    return base64 && text !== "OK" ? value.toString("base64") : text;
  }
  if (typeof value === "string") return base64 && value !== "OK" ? Buffer.from(value).toString("base64") : value;
  if (Array.isArray(value)) return value.map((v) => encodeReply(v, base64));
  return String(value);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function refuseBlocking(cmds: string[][]): string | undefined {
  const name = cmds.find((c) => BLOCKING.has((c[0] ?? "").toLowerCase()))?.[0];
  return name ? `ERR Command is not available: '${name}'. See https://upstash.com/docs/redis/overall/rediscompatibility for details` : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error("ERR request body too large"), { status: 413 });
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function authorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const given = header.startsWith("Bearer ") ? header.slice(7) : (url.searchParams.get("_token") ?? "");
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startRestBridge(options: RestBridgeOptions): Promise<RestBridge> {
  // No auto-pipelining here: ioredis drops the command name of callBuffer() when it auto-pipelines.
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });

  async function runOne(cmd: string[], base64: boolean): Promise<Outcome> {
    try {
      const [name = "", ...args] = cmd;
      return { result: encodeReply(await redis.callBuffer(name, ...args), base64) };
    } catch (error) {
      return { error: errorText(error) };
    }
  }

  async function runMulti(cmds: string[][], base64: boolean): Promise<Outcome[] | { error: string }> {
    const tx = redis.multi(cmds.map(([name = "", ...args]) => ["callBuffer", name, ...args]));
    try {
      const results = await tx.exec();
      if (!results) return { error: "EXECABORT Transaction discarded" };
      return results.map(([err, value]) => (err ? { error: errorText(err) } : { result: encodeReply(value, base64) }));
    } catch (error) {
      return { error: errorText(error) };
    }
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://bridge");
      if (req.method === "GET" && url.pathname === "/healthz") return send(res, 200, { result: "OK" });
      if (!authorized(req, url, options.token)) return send(res, 401, { error: "Unauthorized" });
      if (req.method !== "POST") return send(res, 405, { error: "ERR only POST is supported" });
      const base64 = (req.headers["upstash-encoding"] ?? "").toString().toLowerCase() === "base64";
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (error) {
        const status = (error as { status?: number }).status ?? 400;
        return send(res, status, { error: status === 413 ? errorText(error) : "ERR failed to parse command: body is not JSON" });
      }
      if (url.pathname === "/") {
        const parsed = command.safeParse(body);
        if (!parsed.success) return send(res, 400, { error: "ERR failed to parse command: expected a JSON array of strings" });
        const refused = refuseBlocking([parsed.data]);
        if (refused) return send(res, 400, { error: refused });
        const outcome = await runOne(parsed.data, base64);
        return send(res, "error" in outcome ? 400 : 200, outcome);
      }
      if (url.pathname === "/pipeline" || url.pathname === "/multi-exec") {
        const parsed = commands.safeParse(body);
        if (!parsed.success) return send(res, 400, { error: "ERR failed to parse pipeline request: expected a JSON array of command arrays" });
        const refused = refuseBlocking(parsed.data);
        if (refused) return send(res, 400, { error: refused });
        if (url.pathname === "/pipeline") return send(res, 200, await Promise.all(parsed.data.map((c) => runOne(c, base64))));
        const outcome = await runMulti(parsed.data, base64);
        return Array.isArray(outcome) ? send(res, 200, outcome) : send(res, 400, outcome);
      }
      return send(res, 404, { error: `ERR unknown endpoint ${url.pathname}` });
    })().catch((error: unknown) => send(res, 500, { error: errorText(error) }));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    server,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
