// A child process of the chain harness: its output appended to a log file (and each line offered
// to a watcher), its exit awaited, and a kill that can take its whole process group.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";

export interface RunningChild {
  name: string;
  process: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signal the child (its process group when started with `group`). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL, resolved when it has exited. */
  kill(): Promise<void>;
}

export interface ChildOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Appended to, with a header line per start. */
  logFile: string;
  /** Its own process group, so a kill reaches everything it started. */
  group?: boolean;
  onLine?: (line: string) => void;
}

const streams = new Map<string, WriteStream>();
function logStream(file: string): WriteStream {
  let stream = streams.get(file);
  if (!stream) {
    stream = createWriteStream(file, { flags: "a" });
    streams.set(file, stream);
  }
  return stream;
}

/** Close every log file the harness opened (at the very end). */
export async function closeLogs(): Promise<void> {
  await Promise.all([...streams.values()].map((s) => new Promise<void>((resolve) => s.end(resolve))));
  streams.clear();
}

export function startProcess(name: string, command: string, args: readonly string[], o: ChildOptions): RunningChild {
  const log = logStream(o.logFile);
  log.write(`--- ${new Date().toISOString()} start ${name}: ${command} ${args.join(" ")}\n`);
  const child = spawn(command, args, { env: o.env, cwd: o.cwd, stdio: ["ignore", "pipe", "pipe"], detached: o.group === true });
  if (child.pid === undefined) throw new Error(`${name} did not start (${command})`);
  const pid = child.pid;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      log.write(`${line}\n`);
      o.onLine?.(line);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      log.write(`--- ${new Date().toISOString()} ${name} exited (code ${code}, signal ${signal})\n`);
      resolve({ code, signal });
    });
    child.once("error", (error) => {
      log.write(`--- ${name} failed to start: ${error.message}\n`);
      resolve({ code: null, signal: null });
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const signal = (s: NodeJS.Signals) => {
    if (!alive()) return;
    try {
      if (o.group) process.kill(-pid, s);
      else child.kill(s);
    } catch {
      // gone already
    }
  };
  return {
    name,
    process: child,
    pid,
    exited,
    signal,
    async stop(graceMs = 15_000) {
      if (!alive()) return;
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      if (o.group) signalGroupQuietly(pid, "SIGKILL"); // anything it left behind in its group
    },
    async kill() {
      signal("SIGKILL");
      await exited;
      if (o.group) signalGroupQuietly(pid, "SIGKILL");
    },
  };
}

function signalGroupQuietly(pgid: number, s: NodeJS.Signals): void {
  try {
    process.kill(-pgid, s);
  } catch {
    // the group is empty
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await sleep(everyMs);
  }
  throw new Error(`${what} did not happen within ${Math.round(timeoutMs / 1000)} s`);
}
