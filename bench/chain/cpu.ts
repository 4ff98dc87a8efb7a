// CPU time of each piece of the chain (a process and everything it started), from /proc: where a
// mail's cost goes. A process's own time and that of its children it has reaped (a PostgreSQL
// backend that closed counts for the postmaster); a child that exited unreaped is missed, so
// the figures are a floor.
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface Proc {
  ppid: number;
  ticks: number;
}

function processes(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name, which is in parentheses and may hold spaces.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime, stime, cutime, cstime (fields 14-17 of proc(5)).
      out.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU milliseconds so far of each named root process and its descendants (a descendant that is itself a named root counts for that root only). */
export function cpuSnapshot(roots: Record<string, number | undefined>): Record<string, number> {
  const procs = processes();
  const rootOf = new Map<number, string>();
  for (const [name, pid] of Object.entries(roots)) if (pid !== undefined) rootOf.set(pid, name);
  const owner = (pid: number): string | undefined => {
    for (let p = pid, depth = 0; p > 1 && depth < 50; depth++) {
      const name = rootOf.get(p);
      if (name) return name;
      p = procs.get(p)?.ppid ?? 0;
    }
    return undefined;
  };
  const out: Record<string, number> = Object.fromEntries(Object.keys(roots).map((k) => [k, 0]));
  for (const [pid, proc] of procs) {
    const name = owner(pid);
    if (name) out[name]! += (proc.ticks * 1000) / TICKS_PER_SECOND;
  }
  return out;
}

export function cpuSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Math.max(0, v - (before[k] ?? 0))]));
}
