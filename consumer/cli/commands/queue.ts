import { InvalidArgumentError, type Command } from "commander";
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

const count = (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("expected a whole number");
  return n;
};

export function registerQueue(program: Command): void {
  const queue = program.command("queue").description("inspect the pointer queue");
  queue
    .command("stats")
    .description("depths, oldest ready age, retries pending, dead letters; then each tenant's backlog, oldest ready age and jobs in flight")
    .option("--json", "print JSON (every tenant)")
    .option("--tenants <n>", "how many tenants to list, largest backlog first", count, 20)
    .action((options: { json?: boolean; tenants: number }) =>
      run(async () => {
        const [stats, perTenant] = await withQueue(async (q) => [await q.stats(), await q.tenantStats()] as const);
        const webhooks = await webhookCounts();
        if (options.json) return printJson({ ...stats, tenants: perTenant.tenants, unsortedArrivals: perTenant.unsorted, ...(webhooks ? { webhooks } : {}) });
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
        const shown = perTenant.tenants.slice(0, options.tenants);
        if (shown.length === 0) return;
        process.stdout.write("\n");
        printTable(
          shown.map((t) => ({
            tenant: t.tenantId,
            ready: t.ready,
            "oldest ready": formatAge(t.oldestReadyAgeMs),
            "in flight": t.inflight,
            weight: t.settings.weight ?? 1,
            "max in flight": t.settings.maxInflight ?? "-",
            capped: t.capped ? "yes" : "",
          })),
        );
        const more = perTenant.tenants.length - shown.length;
        if (more > 0) process.stdout.write(`… and ${more} more tenants (--tenants ${perTenant.tenants.length} lists all)\n`);
      }),
    );
}
