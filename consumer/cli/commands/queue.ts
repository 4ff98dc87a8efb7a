import type { Command } from "commander";
import { formatAge, printJson, printTable, run } from "../output.ts";
import { withQueue } from "../with-queue.ts";
import { connectAdmin } from "../admin-client.ts";
import type { DeliveryCounts } from "../../delivery/operations.ts";

/** Webhook backlog and failures beside the queue's figures, when the database is at hand. */
async function webhookCounts(): Promise<DeliveryCounts | { error: string } | undefined> {
  try {
    const admin = await connectAdmin(process.env, { existingOnly: true });
    if (!admin) return undefined;
    try {
      return await admin.call("webhooks.counts", {});
    } finally {
      await admin.close();
    }
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

export function registerQueue(program: Command): void {
  const queue = program.command("queue").description("inspect the pointer queue");
  queue
    .command("stats")
    .description("depths, oldest ready age, retries pending, dead letters")
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const stats = await withQueue((q) => q.stats());
        const webhooks = await webhookCounts();
        if (options.json) return printJson(webhooks ? { ...stats, webhooks } : stats);
        printTable([
          { measure: "ready", value: stats.ready },
          { measure: "oldest ready age", value: formatAge(stats.oldestReadyAgeMs) },
          { measure: "processing", value: stats.processing },
          { measure: "inflight (leased)", value: stats.inflight },
          { measure: "retries pending", value: stats.delayed },
          { measure: "next retry in", value: stats.nextRetryAt === undefined ? "-" : formatAge(Math.max(0, stats.nextRetryAt - stats.now)) },
          { measure: "dead letters", value: stats.dlq },
          ...(webhooks && "error" in webhooks ? [{ measure: "webhook deliveries", value: `unavailable: ${webhooks.error}` }] : []),
          ...(webhooks && !("error" in webhooks)
            ? [
                { measure: "webhook backlog", value: webhooks.backlog },
                { measure: "webhook retries pending", value: webhooks.retrying },
                { measure: "webhook deliveries failed", value: webhooks.failed },
              ]
            : []),
        ]);
      }),
    );
}
