import { InvalidArgumentError, type Command } from "commander";
import { formatAge, printJson, printTable, run } from "../output.ts";
import { withQueue } from "../with-queue.ts";

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
        if (options.json) return printJson({ ...stats, tenants: perTenant.tenants, unsortedArrivals: perTenant.unsorted });
        printTable([
          { measure: "ready", value: stats.ready },
          { measure: "oldest ready age", value: formatAge(stats.oldestReadyAgeMs) },
          { measure: "processing", value: stats.processing },
          { measure: "inflight (leased)", value: stats.inflight },
          { measure: "retries pending", value: stats.delayed },
          { measure: "next retry in", value: stats.nextRetryAt === undefined ? "-" : formatAge(Math.max(0, stats.nextRetryAt - stats.now)) },
          { measure: "dead letters", value: stats.dlq },
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
