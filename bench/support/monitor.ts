// Counts Redis commands with MONITOR, split into those clients sent and those scripts ran
// ("[db lua]" lines), per database index, so several systems can be counted side by side.
import { Redis } from "ioredis";

export interface CommandCounts {
  clientSent: number;
  insideScripts: number;
  byCommand: Record<string, number>;
}

export class CommandMonitor {
  readonly #counts = new Map<number, CommandCounts>();
  #monitor: Redis | undefined;
  #url: string;

  constructor(url: string) {
    this.#url = url;
  }

  async start(): Promise<void> {
    const redis = new Redis(this.#url);
    this.#monitor = await redis.monitor();
    this.#monitor.on("monitor", (_time: string, args: string[], source: string, database: string) => {
      const db = Number(database);
      const counts = this.#counts.get(db) ?? { clientSent: 0, insideScripts: 0, byCommand: {} };
      if (source === "lua") counts.insideScripts++;
      else counts.clientSent++;
      const name = (args[0] ?? "").toLowerCase();
      counts.byCommand[name] = (counts.byCommand[name] ?? 0) + 1;
      this.#counts.set(db, counts);
    });
    redis.disconnect();
  }

  reset(): void {
    this.#counts.clear();
  }

  counts(db: number): CommandCounts {
    return this.#counts.get(db) ?? { clientSent: 0, insideScripts: 0, byCommand: {} };
  }

  stop(): void {
    this.#monitor?.disconnect();
  }
}
