// What the container image runs, without a Docker engine: exactly the files consumer/Dockerfile
// copies, its production-only `npm ci`, then its entrypoint on Node 22 as an unprivileged user.
// The image must run `inlet consumer` and `inlet queue stats`, and hold no development code.
import { execFileSync, spawn } from "node:child_process";
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { testQueue, type TestQueue } from "../../support/queues.ts";

const NOBODY = 65534;
const node22 = join(process.cwd(), "node_modules", "node", "bin", "node");
let app: string;
let q: TestQueue;

/** The Dockerfile's COPY instructions, as [sources, destination]. */
function copies(dockerfile: string): [string[], string][] {
  return dockerfile
    .split("\n")
    .filter((line) => /^COPY\s/.test(line))
    .map((line) => {
      const parts = line.trim().split(/\s+/).slice(1);
      return [parts.slice(0, -1), parts.at(-1)!];
    });
}

function run(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string; child: ReturnType<typeof spawn> }> {
  const child = spawn(node22, ["consumer/cli/main.ts", ...args], { cwd: app, uid: NOBODY, gid: NOBODY, env: { PATH: "/usr/bin:/bin", NODE_ENV: "production", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) => child.on("exit", (code) => (clearTimeout(timer), resolve({ code, output, child }))));
}

beforeAll(async () => {
  q = testQueue("tcp");
  const dockerfile = readFileSync("consumer/Dockerfile", "utf8");
  expect(dockerfile).toMatch(/RUN npm ci --omit=dev --ignore-scripts/);
  app = mkdtempSync(join(tmpdir(), "inlet-image-"));
  for (const [sources, destination] of copies(dockerfile)) {
    for (const source of sources) {
      const target = destination.endsWith("/") ? join(app, destination, source) : join(app, destination);
      cpSync(source, target, { recursive: true });
    }
  }
  execFileSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: app, stdio: "ignore", timeout: 240_000 });
  mkdirSync(join(app, ".inlet"));
  execFileSync("chmod", ["-R", "a+rX", app]);
  chownSync(join(app, ".inlet"), NOBODY, NOBODY);
}, 300_000);

afterAll(async () => {
  await q?.close();
  if (app) rmSync(app, { recursive: true, force: true });
});

describe("the consumer image", () => {
  it("holds production code and production dependencies only", () => {
    const files = readdirSync(app, { recursive: true, encoding: "utf8" }).filter((f) => !f.startsWith("node_modules"));
    expect(files.filter((f) => /(^|\/)(dev|fakes|test|bench)(\/|$)/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".test.ts"))).toEqual([]);
    expect(existsSync(join(app, "test"))).toBe(false);
    expect(existsSync(join(app, "node_modules", "vitest"))).toBe(false);
    expect(existsSync(join(app, "node_modules", "wrangler"))).toBe(false);
    expect(existsSync(join(app, "node_modules", "pg"))).toBe(true);
  });

  it("runs `inlet queue stats` as an unprivileged user", async () => {
    const result = await run(["queue", "stats", "--json"], { REDIS_URL: inject("redisUrl"), UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: q.settings.keys.ready.replace(/ready$/, "") });
    expect(result.output).not.toMatch(/Error/);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.output)).toMatchObject({ ready: 0, dlq: 0 });
  });

  it("runs `inlet consumer` on embedded PGlite in the directory it owns, and stops gracefully on SIGTERM", async () => {
    const env = { REDIS_URL: inject("redisUrl"), UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: q.settings.keys.ready.replace(/ready$/, "") };
    const child = spawn(node22, ["consumer/cli/main.ts", "consumer"], { cwd: app, uid: NOBODY, gid: NOBODY, env: { PATH: "/usr/bin:/bin", NODE_ENV: "production", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!output.includes("inbound_email_consumer_started") && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain('"database":"pglite"');
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(existsSync(join(app, ".inlet", "pglite"))).toBe(true);
  }, 90_000);

  it("`inlet dev` says the local stack is not part of the image", async () => {
    const result = await run(["dev"], {});
    expect(result.code).toBe(1);
    expect(result.output).toContain("the local stack is not part of this installation");
  });
});
