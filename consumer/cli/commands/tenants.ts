import { InvalidArgumentError, type Command } from "commander";
import { MAX_TENANT_WEIGHT, type TenantSettings } from "../../../src/queue/queue.ts";
import { CliError, printJson, printTable, run } from "../output.ts";
import { withQueue } from "../with-queue.ts";

const wholeNumber = (max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
  return n;
};

export const describeSettings = (s: TenantSettings) => ({ weight: s.weight ?? 1, "max in flight": s.maxInflight ?? "-" });

export function registerTenants(program: Command): void {
  const tenants = program.command("tenants").description("each tenant's share of the queue: weight and max jobs in flight");

  tenants
    .command("set <tenant>")
    .description("set a tenant's weight (jobs per turn, default 1) and cap on jobs in flight (default none); replaces earlier settings")
    .option("--weight <n>", "jobs per turn when tenants take turns", wholeNumber(MAX_TENANT_WEIGHT))
    .option("--max-inflight <n>", "most jobs of this tenant claimed at once, across all consumers", wholeNumber(1_000_000))
    .action((tenant: string, options: { weight?: number; maxInflight?: number }) =>
      run(async () => {
        if (options.weight === undefined && options.maxInflight === undefined) throw new CliError("tenants set: give --weight, --max-inflight or both (tenants clear removes settings)", 2);
        const settings: TenantSettings = {};
        if (options.weight !== undefined) settings.weight = options.weight;
        if (options.maxInflight !== undefined) settings.maxInflight = options.maxInflight;
        await withQueue((q) => q.setTenant(tenant, settings));
        printTable([{ tenant, ...describeSettings(settings) }]);
      }),
    );

  tenants
    .command("list")
    .description("tenants that have settings")
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const list = await withQueue((q) => q.tenants());
        if (options.json) return printJson(list);
        if (list.length === 0) return void process.stdout.write("no tenant settings: every tenant has weight 1 and no cap\n");
        printTable(list.map((t) => ({ tenant: t.tenantId, ...describeSettings(t.settings) })));
      }),
    );

  tenants
    .command("clear <tenant>")
    .description("back to the defaults: weight 1, no cap")
    .action((tenant: string) =>
      run(async () => {
        const cleared = await withQueue((q) => q.clearTenant(tenant));
        process.stdout.write(cleared ? `cleared ${tenant}\n` : `${tenant} had no settings\n`);
      }),
    );
}
