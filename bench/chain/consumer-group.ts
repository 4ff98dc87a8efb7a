// The consumer (`node consumer/cli/main.ts consumer`) as a supervised process group: started,
// SIGKILLed and restarted on command, and restarted after any exit the harness did not cause
// (as an orchestrator would), each such exit recorded with the lines that preceded it. A start
// that fails because a dependency is down (`inbound_email_consumer_start_failed`) is counted
// apart from a crash.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startProcess, sleep, type RunningChild } from "./child.ts";
import { childEnv } from "./services.ts";

export interface ConsumerExit {
  at: string;
  code: number | null;
  signal: string | null;
  /** The last log lines before the exit (JSON log lines, no mail content). */
  lastLines: string[];
}

/** Jobs acknowledged, and the messages they applied (a Gmail job applies every message its history listing holds). */
export interface AckCount {
  jobs: number;
  messages: number;
}

export interface ErrorLine {
  event: string;
  code: string;
  message: string;
  count: number;
  first: string;
}

export interface ConsumerGroup {
  start(): void;
  /** Resolves once the current process logged that it started. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGKILL the process group and wait for it to go. */
  kill(): Promise<void>;
  /** Graceful stop (SIGTERM, the shutdown grace, then SIGKILL); no restart after it. */
  stop(): Promise<void>;
  /** Stop and start again when it is sent SIGSTOP/SIGCONT (to hold it still while mail is staged). */
  pause(): void;
  resume(): void;
  pid(): number | undefined;
  /** Resident set high-water mark of the current process, MB (from /proc). */
  peakRssMb(): number | undefined;
  readonly stats: { starts: number; kills: number; startFailures: number; crashes: ConsumerExit[]; errors: Map<string, ErrorLine>; dlqEvents: number; acks: Record<string, AckCount>; deliveries: Map<string, number> };
}

export function consumerGroup(o: { root: string; env: Record<string, string>; logFile: string }): ConsumerGroup {
  let current: RunningChild | undefined;
  let stopping = false;
  let startedLine = false;
  let readyWaiters: (() => void)[] = [];
  const recent: string[] = [];
  const stats: ConsumerGroup["stats"] = { starts: 0, kills: 0, startFailures: 0, crashes: [], errors: new Map(), dlqEvents: 0, acks: {}, deliveries: new Map() };
  let expectedExit: RunningChild | undefined;
  let startFailed = false;

  const onLine = (line: string) => {
    recent.push(line);
    if (recent.length > 60) recent.shift();
    if (line.includes('"inbound_email_consumer_started"')) {
      startedLine = true;
      for (const w of readyWaiters) w();
      readyWaiters = [];
    }
    if (line.includes('"inbound_email_queue_dlq"')) stats.dlqEvents++;
    if (line.includes('"inbound_email_queue_consume_start"')) {
      const jobId = /"jobId":"([^"]+)"/.exec(line)?.[1];
      const attempt = Number(/"attempt":(\d+)/.exec(line)?.[1] ?? 0);
      if (jobId) stats.deliveries.set(jobId, Math.max(attempt, stats.deliveries.get(jobId) ?? 0));
    }
    if (line.includes('"inbound_email_queue_ack"')) {
      try {
        const ack = JSON.parse(line) as { provider?: string; messages?: number };
        const count = (stats.acks[ack.provider ?? "?"] ??= { jobs: 0, messages: 0 });
        count.jobs++;
        count.messages += ack.messages ?? 0;
      } catch {
        // not a log line of ours
      }
    }
    if (line.includes('"inbound_email_consumer_start_failed"')) startFailed = true;
    if (/"level":(50|60)/.test(line)) {
      try {
        const entry = JSON.parse(line) as { event?: string; code?: string; message?: string; err?: { code?: string; message?: string } };
        const event = entry.event ?? "(no event)";
        const code = entry.code ?? entry.err?.code ?? "";
        const key = `${event}|${code}`;
        const seen = stats.errors.get(key);
        if (seen) seen.count++;
        else stats.errors.set(key, { event, code, message: (entry.err?.message ?? entry.message ?? "").slice(0, 300), count: 1, first: new Date().toISOString() });
      } catch {
        // not a log line of ours
      }
    }
  };

  const spawnOne = () => {
    startedLine = false;
    startFailed = false;
    stats.starts++;
    const child = startProcess("consumer", process.execPath, [join(o.root, "consumer", "cli", "main.ts"), "consumer"], {
      env: childEnv(o.env),
      cwd: o.root,
      logFile: o.logFile,
      group: true,
      onLine,
    });
    current = child;
    void child.exited.then(async ({ code, signal }) => {
      if (stopping || expectedExit === child) return;
      if (startFailed) stats.startFailures++;
      else stats.crashes.push({ at: new Date().toISOString(), code, signal, lastLines: [...recent] });
      await sleep(500);
      if (!stopping && current === child) spawnOne();
    });
  };

  return {
    stats,
    start() {
      stopping = false;
      spawnOne();
    },
    ready(timeoutMs = 60_000) {
      if (startedLine) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the consumer did not start in time (see its log)")), timeoutMs);
        readyWaiters.push(() => (clearTimeout(timer), resolve()));
      });
    },
    async kill() {
      const child = current;
      if (!child) return;
      expectedExit = child;
      stats.kills++;
      await child.kill();
    },
    async stop() {
      stopping = true;
      await current?.stop(40_000);
    },
    pause: () => current?.signal("SIGSTOP"),
    resume: () => current?.signal("SIGCONT"),
    pid: () => current?.pid,
    peakRssMb() {
      if (!current) return undefined;
      try {
        const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${current.pid}/status`, "utf8"))?.[1];
        return kb ? Math.round(Number(kb) / 1024) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
