// The edge Worker under `wrangler dev` on a loopback port, with the given vars, for the local
// stack, the tests that need the real edge, and the chaos run.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startChild, waitUntil, type Child, type LogLine } from "./processes.ts";

export interface WorkerDev {
  url: string;
  child: Child;
  stop(): Promise<void>;
}

export async function startWorkerDev(o: { root: string; port: number; vars: Record<string, string>; persistTo: string; log: LogLine }): Promise<WorkerDev> {
  const wrangler = join(o.root, "node_modules", ".bin", "wrangler");
  if (!existsSync(wrangler)) throw new Error("wrangler is not installed: run npm install");
  const url = `http://127.0.0.1:${o.port}`;
  const child = startChild(
    "worker",
    wrangler,
    ["dev", "--ip", "127.0.0.1", "--port", String(o.port), "--test-scheduled", "--show-interactive-dev-session=false", "--log-level", "warn", "--persist-to", o.persistTo, ...Object.entries(o.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])],
    { log: o.log, env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true" } },
  );
  try {
    await Promise.race([
      waitUntil(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true, 90_000, "wrangler dev"),
      child.exited.then(() => Promise.reject(new Error("wrangler dev exited during start (see the [worker] lines above)"))),
    ]);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { url, child, stop: () => child.stop() };
}
