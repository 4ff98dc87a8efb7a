// The README's path, as a test: `npm start` brings the whole stack up (wrangler dev included),
// `inlet demo` sends one notification of each kind end to end and reports the tickets, and
// Ctrl-C (SIGINT) stops everything with no process left behind.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inlet } from "../../support/cli.ts";
import { uniquePrefix } from "../../support/queues.ts";

function processesMatching(pattern: string): string[] {
  try {
    return execFileSync("pgrep", ["-af", pattern], { encoding: "utf8" }).trim().split("\n").filter((l) => l && !l.includes("pgrep"));
  } catch {
    return [];
  }
}

describe("local stack", () => {
  it("npm start, inlet demo, Ctrl-C: tickets from every provider, then nothing left running", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "inlet-stack-"));
    const env = { ...process.env, INLET_DATA_DIR: dataDir, INLET_REST_PORT: "18079", INLET_WORKER_PORT: "18787", INLET_CONTROL_PORT: "18794", UNIFIED_INBOUND_EMAIL_QUEUE_PREFIX: uniquePrefix("stack") };
    const stack = spawn("npm", ["start"], { env, stdio: ["ignore", "pipe", "pipe"], detached: false });
    let output = "";
    stack.stdout.on("data", (d: Buffer) => (output += d.toString()));
    stack.stderr.on("data", (d: Buffer) => (output += d.toString()));
    try {
      const deadline = Date.now() + 120_000;
      while (!output.includes("Inlet is running locally") && Date.now() < deadline && stack.exitCode === null) await new Promise((r) => setTimeout(r, 250));
      expect(output).toContain("Inlet is running locally");
      expect(output).toContain("INLET_ADMIN_TOKEN=dev-");

      const demo = await inlet(["demo", "--json"], env, 120_000);
      expect(demo.stderr).toBe("");
      const report = JSON.parse(demo.stdout) as { tickets: { subject: string; replies: number; notes: number; attachments: string[] }[]; messages: { provider: string; outcome: string }[]; notifications: { provider: string; status: number }[]; queue: { ready: number; dlq: number } };
      expect(report.notifications.filter((n) => n.provider !== "imap").every((n) => n.status === 202)).toBe(true);
      const vpn = report.tickets.find((t) => t.subject.startsWith("VPN drops every hour"));
      expect(vpn).toMatchObject({ replies: 1, notes: 1, attachments: ["vpn-client.log"] });
      const outcomes = report.messages.map((m) => `${m.provider}:${m.outcome}`).sort();
      expect(outcomes).toEqual(expect.arrayContaining(["google:comment", "microsoft:note", "microsoft:skipped: bounce", "microsoft:ticket"]));
      expect(report.messages).toHaveLength(report.notifications.some((n) => n.provider === "imap") ? 5 : 4);
      expect(report.queue).toMatchObject({ ready: 0, dlq: 0 });
      // The human-readable form prints the same tables.
      const table = await inlet(["demo"], env, 120_000);
      expect(table.stdout).toContain("Tickets created:");
    } finally {
      const node = processesMatching(`main.ts dev`).map((l) => Number(l.split(" ")[0]));
      for (const pid of node) process.kill(pid, "SIGINT");
      await new Promise<void>((resolve) => (stack.exitCode !== null ? resolve() : stack.once("exit", () => resolve())));
      await new Promise((r) => setTimeout(r, 500));
      rmSync(dataDir, { recursive: true, force: true });
    }
    expect(output).toContain("stopping (SIGINT)");
    expect(processesMatching("18787")).toEqual([]); // wrangler / workerd
    expect(processesMatching("main.ts dev")).toEqual([]);
    expect(processesMatching("inlet-dovecot")).toEqual([]);
  }, 300_000);
});
