// A message far over INLET_MAX_MESSAGE_BYTES costs no more memory than the limit: Graph and Gmail
// bodies are refused by their Content-Length or counted while they stream and abandoned at the
// limit, IMAP asks for the size and at most limit + 1 bytes. Each resolver runs in a process of
// its own (test/support/fixtures/oversized-fetch.ts) whose peak RSS is measured; the message is
// 200 MB, the limit the default 25 MB.
import { execFile } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDovecot, type Dovecot } from "../../support/dovecot.ts";

const MESSAGE_MB = 200;
const CHUNK = Buffer.alloc(1024 * 1024, "a");
const LINE_CHUNK = Buffer.from(`${"x".repeat(998)}\r\n`.repeat(1024)); // about 1 MB of legal lines
const run = promisify(execFile);
let server: Server;
let base: string;
let dovecot: Dovecot;
let dir: string;
const USER = { user: "big@x.example", password: "pw" };

/** 200 MB as the provider would send it, made up as it goes out (the test process holds none of it). */
async function stream(res: ServerResponse, prefix: string, suffix: string, chunk: Buffer, declared?: number) {
  res.writeHead(200, { "content-type": prefix ? "application/json" : "message/rfc822", ...(declared ? { "content-length": String(declared) } : {}) });
  res.write(prefix);
  for (let i = 0; i < MESSAGE_MB && !res.destroyed; i++) {
    if (!res.write(chunk)) await new Promise((r) => res.once("drain", r).once("close", r));
  }
  res.end(suffix);
}

function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? "/", "http://x");
  if (req.method === "POST") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: "t", expires_in: 3600, token_type: "Bearer" }));
  if (url.pathname.endsWith("/declared/$value")) return void stream(res, "", "", CHUNK, MESSAGE_MB * CHUNK.length);
  if (url.pathname.endsWith("/$value")) return void stream(res, "", "", CHUNK);
  if (url.pathname.endsWith("/history")) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ historyId: "2", history: [{ id: "2", messagesAdded: [{ message: { id: "huge", labelIds: ["INBOX"] } }] }] }));
  if (url.pathname.endsWith("/messages/huge")) return void stream(res, '{"id":"huge","labelIds":["INBOX"],"raw":"', '"}', Buffer.alloc(1024 * 1024, "Q"));
  res.writeHead(404).end();
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  dovecot = await startDovecot([USER]);
  dir = mkdtempSync(join(tmpdir(), "inlet-oversized-"));
}, 60_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await dovecot?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function fetchIn(provider: string, env: Record<string, string>): Promise<{ received: { rawBytes: number; oversizedBytes?: number }[]; maxRssMb: number }> {
  const { stdout } = await run(process.execPath, ["test/support/fixtures/oversized-fetch.ts", provider], { env: { ...process.env, GRAPH_URL: `${base}/graph`, LOGIN_URL: `${base}/login`, GMAIL_URL: `${base}/gmail`, TOKEN_URL: `${base}/token`, ...env }, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as { received: { rawBytes: number; oversizedBytes?: number }[]; maxRssMb: number };
}

describe("a 200 MB message with the 25 MB limit", () => {
  let baseline = 0;
  it("the resolver process's own footprint (a message that is gone) is the baseline", async () => {
    baseline = (await fetchIn("microsoft", { MESSAGE_ID: "missing-one" })).maxRssMb;
    expect(baseline).toBeGreaterThan(0);
  });

  it.each([
    ["Graph, sent chunked (counted while it streams)", "microsoft", { MESSAGE_ID: "huge" }],
    ["Graph, with its Content-Length (refused before reading)", "microsoft", { MESSAGE_ID: "declared" }],
    ["Gmail raw JSON, sent chunked", "google", {}],
  ] as const)("%s: processing is told it is too large; peak memory stays near the baseline", async (_name, provider, env) => {
    const result = await fetchIn(provider, env);
    expect(result.received).toHaveLength(1);
    expect(result.received[0]!.rawBytes).toBe(0);
    expect(result.received[0]!.oversizedBytes).toBeGreaterThan(25 * 1024 * 1024);
    expect(result.maxRssMb - baseline).toBeLessThan(90);
  }, 120_000);

  it("IMAP: the size comes with a bounded FETCH; peak memory stays near the baseline", async () => {
    const file = join(dir, "huge.eml");
    const out = createWriteStream(file);
    out.write("From: a@b.example\r\nTo: big@x.example\r\nSubject: huge\r\nMessage-ID: <huge@b.example>\r\n\r\n");
    for (let i = 0; i < MESSAGE_MB; i++) if (!out.write(LINE_CHUNK)) await new Promise<void>((r) => out.once("drain", () => r()));
    await new Promise<void>((r) => out.end(() => r()));
    await run("sh", ["-c", `doveadm -c ${dovecot.dir}/dovecot.conf save -u ${USER.user} -m INBOX < ${file}`]);
    const { stdout } = await run("doveadm", ["-c", `${dovecot.dir}/dovecot.conf`, "mailbox", "status", "-u", USER.user, "uidvalidity uidnext", "INBOX"]);
    const uidValidity = /uidvalidity=(\d+)/.exec(stdout)![1]!;
    const uid = Number(/uidnext=(\d+)/.exec(stdout)![1]!) - 1;
    const result = await fetchIn("imap", { IMAP_HOST: dovecot.host, IMAP_PORT: String(dovecot.port), IMAP_USER: USER.user, IMAP_PASSWORD: USER.password, UID_VALIDITY: uidValidity, UID: String(uid) });
    expect(result.received).toHaveLength(1);
    expect(result.received[0]!.oversizedBytes).toBeGreaterThan(MESSAGE_MB * 1000 * 1000);
    expect(result.maxRssMb - baseline).toBeLessThan(90);
  }, 120_000);
});
