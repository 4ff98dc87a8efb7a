import { spawn } from "node:child_process";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real `inlet` command line (consumer/cli/main.ts) in a child process. */
export function inlet(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["consumer/cli/main.ts", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`inlet ${args.join(" ")} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RunningCli {
  /** Resolves with the first match of `pattern` in what the command wrote to stderr so far or later. */
  stderrMatch(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  result: Promise<CliResult>;
}

/** Start the real `inlet` command line and talk to it while it runs (interactive flows). */
export function startInlet(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): RunningCli {
  const child = spawn(process.execPath, ["consumer/cli/main.ts", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters: (() => void)[] = [];
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    waiters.forEach((w) => w());
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const result = new Promise<CliResult>((resolve) => child.on("exit", (code) => (clearTimeout(timer), resolve({ code, stdout, stderr }))));
  return {
    result,
    stderrMatch(pattern, waitMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stderr);
          if (match) {
            clearTimeout(giveUp);
            resolve(match);
          }
        };
        const giveUp = setTimeout(() => reject(new Error(`inlet ${args.join(" ")} wrote no ${pattern} to stderr:\n${stderr}\n${stdout}`)), waitMs);
        waiters.push(check);
        void result.then(() => setTimeout(check, 0));
        check();
      });
    },
  };
}

export { followAsBrowser } from "../../dev/fakes/browser.ts";
