// The README's path, as a test: `npm start` brings the whole stack up (wrangler dev included),
// `inlet demo` sends one notification of each kind end to end and reports the tickets, and
// Ctrl-C (SIGINT) stops everything with no process left behind. In between, `inlet webhooks add`
// from a second terminal reaches the running stack (whose consumer owns the embedded database), and
// the next demo's tickets, reply and note arrive at the endpoint, signed.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";
import { inlet } from "../../support/cli.ts";
import { uniquePrefix } from "../../support/queues.ts";
import { until } from "../../support/until.ts";
import { startWebhookReceiver } from "../../support/webhook-receiver.ts";

function processesMatching(pattern: string): string[] {
  try {
    return execFileSync("pgrep", ["-af", pattern], { encoding: "utf8" }).trim().split("\n").filter((l) => l && !l.includes("pgrep"));
  } catch {
    return [];
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The machine's own Node (older than 22.18 here), to run the `inlet` shim as a user would. */
const systemNode = ["/usr/bin/node", "/usr/local/bin/node"].find((p) => existsSync(p)) ?? process.execPath;

/** PATH as a user's shell has it: without the node_modules/.bin folders npm puts first. */
const userPath = (process.env.PATH ?? "").split(delimiter).filter((dir) => !dir.includes("node_modules")).join(delimiter);

function startStack(command: string, args: string[], extraEnv: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "inlet-stack-"));
  // Ports and temporary files of its own (INLET_TEST_PORT_BASE moves the ports), so that two
  // checkouts can run this test at once and each finds only its own processes afterwards.
  const base = Number(process.env.INLET_TEST_PORT_BASE ?? 18000);
  const workerPort = String(base + 787);
  const privateTmp = mkdtempSync(join(tmpdir(), "inlet-stack-tmp-"));
  chmodSync(privateTmp, 0o755); // Dovecot's unprivileged processes reach their files through it
  const env = { ...process.env, TMPDIR: privateTmp, INLET_DATA_DIR: dataDir, INLET_REST_PORT: String(base + 79), INLET_WORKER_PORT: workerPort, INLET_CONTROL_PORT: String(base + 794), UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: uniquePrefix("stack"), ...extraEnv };
  // Its own process group, which Ctrl-C signals as a terminal would.
  const stack = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  stack.stdout.on("data", (d: Buffer) => (output += d.toString()));
  stack.stderr.on("data", (d: Buffer) => (output += d.toString()));
  return {
    env,
    output: () => output,
    async running() {
      const deadline = Date.now() + 120_000;
      while (!output.includes("Inlet is running locally") && Date.now() < deadline && stack.exitCode === null) await new Promise((r) => setTimeout(r, 250));
      expect(output).toContain("Inlet is running locally");
    },
    /** Ctrl-C, then what is left running of it (nothing, when all went well). */
    async interrupt(): Promise<string[]> {
      if (stack.exitCode === null) process.kill(-stack.pid!, "SIGINT");
      await new Promise<void>((resolve) => (stack.exitCode !== null ? resolve() : stack.once("exit", () => resolve())));
      await new Promise((r) => setTimeout(r, 500));
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(privateTmp, { recursive: true, force: true });
      return [
        ...processesMatching(`--port ${workerPort}`), // wrangler / workerd
        ...processesMatching(dataDir), // the consumer's data
        ...processesMatching(privateTmp), // Dovecot
        ...(groupAlive(stack.pid!) ? [`process group ${stack.pid}`] : []),
      ];
    },
  };
}

describe("local stack", () => {
  it("npm start, inlet demo, Ctrl-C: tickets from every provider, then nothing left running", async () => {
    // The consumer's HTTP server on a port of this test's own: `inlet webhooks` in the "second
    // terminal" reaches the stack through it, since the stack's consumer owns the embedded database.
    const httpPort = String(Number(process.env.INLET_TEST_PORT_BASE ?? 18000) + 880);
    const stack = startStack("npm", ["start"], { INLET_HTTP_PORT: httpPort, INLET_HTTP_HOST: "127.0.0.1" });
    const receiver = await startWebhookReceiver();
    let left: string[] = [];
    try {
      await stack.running();
      expect(stack.output()).toContain("INLET_ADMIN_TOKEN=dev-");
      const { env } = stack;

      const demo = await inlet(["demo", "--json"], env, 120_000);
      expect(demo.stderr).toBe("");
      const report = JSON.parse(demo.stdout) as { connections: { provider: string; how: string }[]; tickets: { subject: string; replies: number; notes: number; attachments: string[] }[]; messages: { provider: string; outcome: string }[]; notifications: { provider: string; status: number }[]; queue: { ready: number; dlq: number } };
      expect(report.notifications.filter((n) => n.provider !== "imap").every((n) => n.status === 202)).toBe(true);
      // Connected through the consent flows, not with credentials pasted in.
      expect(report.connections.map((c) => c.how)).toEqual(expect.arrayContaining([expect.stringMatching(/^admin consent: tenant sandbox-tenant granted the app/), expect.stringMatching(/^installed-app consent \(PKCE, loopback redirect\)/)]));
      const vpn = report.tickets.find((t) => t.subject.startsWith("VPN drops every hour"));
      expect(vpn).toMatchObject({ replies: 1, notes: 1, attachments: ["vpn-client.log"] });
      const outcomes = report.messages.map((m) => `${m.provider}:${m.outcome}`).sort();
      expect(outcomes).toEqual(expect.arrayContaining(["google:comment", "microsoft:note", "microsoft:skipped: bounce", "microsoft:ticket"]));
      expect(report.messages).toHaveLength(report.notifications.some((n) => n.provider === "imap") ? 5 : 4);
      expect(report.queue).toMatchObject({ ready: 0, dlq: 0 });
      // A webhook endpoint added from the second terminal, while the stack runs on PGlite.
      const cli = { ...env, DATABASE_URL: undefined, INLET_ADMIN_TOKEN: undefined, INLET_ADMIN_URL: undefined };
      const added = await inlet(["webhooks", "add", "--tenant", "demo", "--url", receiver.url, "--json"], cli);
      expect(added.stderr).toBe("");
      receiver.secrets = [(JSON.parse(added.stdout) as { secret: string }).secret];
      // The human-readable form prints the same tables; its mail is announced to the endpoint.
      const table = await inlet(["demo"], env, 120_000);
      expect(table.stdout).toContain("Tickets created:");
      await until(() => receiver.applied.length >= 3, 30_000, () => `the second demo's events (got ${receiver.received.map((r) => r.type).join(", ")})`);
      expect(receiver.received.map((r) => r.type)).toEqual(expect.arrayContaining(["ticket.created", "ticket.replied", "ticket.noted"]));
      expect(receiver.rejected).toEqual([]);
      const deliveries = await inlet(["webhooks", "deliveries", "--json"], cli);
      expect((JSON.parse(deliveries.stdout) as { status: string }[]).some((d) => d.status === "delivered")).toBe(true);
    } finally {
      left = await stack.interrupt();
      await receiver.close();
    }
    expect(stack.output()).toContain("stopping (SIGINT)");
    expect(left).toEqual([]);
  }, 300_000);

  it("`node bin/inlet.js dev` on the machine's own Node starts the whole stack (wrangler included) and Ctrl-C stops all of it", async () => {
    const stack = startStack(systemNode, ["bin/inlet.js", "dev"], { PATH: userPath });
    let left: string[] = [];
    try {
      await stack.running();
    } finally {
      left = await stack.interrupt();
    }
    expect(stack.output()).not.toMatch(/requires at least Node|Wrangler requires/i);
    expect(stack.output()).toContain("stopping (SIGINT)");
    expect(left).toEqual([]);
  }, 300_000);
});
