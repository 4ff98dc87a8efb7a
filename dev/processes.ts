// Child processes of the local stack: one log stream with a tag per source, and a stop that
// waits for each child to exit (escalating to SIGKILL), so Ctrl-C leaves nothing behind.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export type LogLine = (source: string, line: string) => void;

export interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

export function startChild(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; log: LogLine }): Child {
  const child = spawn(command, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => options.log(name, line));
  }
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.on("error", (error) => {
      options.log(name, `failed to start: ${error.message}`);
      resolve(null);
    });
  });
  return {
    name,
    process: child,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function answers(port: number, host = "127.0.0.1"): Promise<boolean> {
  return import("node:net").then(
    ({ connect }) =>
      new Promise<boolean>((resolve) => {
        const socket = connect({ port, host });
        socket.once("connect", () => (socket.destroy(), resolve(true)));
        socket.once("error", () => resolve(false));
      }),
  );
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${Math.round(timeoutMs / 1000)} s`);
}
