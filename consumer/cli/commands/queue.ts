import type { Command } from "commander";
import { formatAge, printJson, printTable, run } from "../output.ts";
import { withQueue } from "../with-queue.ts";

export function registerQueue(program: Command): void {
  const queue = program.command("queue").description("inspect the pointer queue");
  queue
    .command("stats")
    .description("depths, oldest ready age, retries pending, dead letters")
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const stats = await withQueue((q) => q.stats());
        if (options.json) return printJson(stats);
        printTable([
          { measure: "ready", value: stats.ready },
          { measure: "oldest ready age", value: formatAge(stats.oldestReadyAgeMs) },
          { measure: "processing", value: stats.processing },
          { measure: "inflight (leased)", value: stats.inflight },
          { measure: "retries pending", value: stats.delayed },
          { measure: "next retry in", value: stats.nextRetryAt === undefined ? "-" : formatAge(Math.max(0, stats.nextRetryAt - stats.now)) },
          { measure: "dead letters", value: stats.dlq },
        ]);
      }),
    );
}
