// `inlet webhooks`: endpoints per tenant and their deliveries (README, "Delivery").
//   add --tenant T --url URL [--events a,b]   prints the signing secret, once
//   list [--tenant T] · remove ID · rotate-secret ID · test ID
//   deliveries [--failed] [--tenant T] [--endpoint ID] [--limit N] · redeliver ID | --all-failed
// Through the running consumer when it owns the embedded database (admin-client.ts).
import { InvalidArgumentError, type Command } from "commander";
import { parseEventTypes } from "../../delivery/event-types.ts";
import { withAdmin } from "../admin-client.ts";
import { CliError, formatAge, printJson, printTable, run } from "../output.ts";
import { positiveWholeNumber } from "../arguments.ts";

const eventList = (value: string) => {
  try {
    return parseEventTypes(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
export function registerWebhooks(program: Command): void {
  const webhooks = program.command("webhooks").description("webhook endpoints per tenant, and their deliveries");

  webhooks
    .command("add")
    .description("add an endpoint; prints its signing secret (whsec_…) once")
    .requiredOption("--tenant <id>", "the tenant")
    .requiredOption("--url <url>", "where to POST events (https)")
    .option("--events <list>", "comma-separated: ticket.created, ticket.replied, ticket.noted, message.skipped (default: the three ticket events)", eventList)
    .option("--json", "print JSON")
    .action((o: { tenant: string; url: string; events?: ReturnType<typeof parseEventTypes>; json?: boolean }) =>
      run(() =>
        withAdmin(async (admin) => {
          const { endpoint, secret } = await admin.call("webhooks.add", { tenantId: o.tenant, url: o.url, ...(o.events ? { events: o.events } : {}) });
          if (o.json) return printJson({ ...endpoint, secret });
          process.stdout.write(`endpoint ${endpoint.id} for tenant ${endpoint.tenantId}: ${endpoint.url}\nevents: ${endpoint.events.join(", ")}\nsigning secret (shown once; verify webhook-signature with it): ${secret}\n`);
        }),
      ),
    );

  webhooks
    .command("list")
    .description("endpoints, with their backlog and failed deliveries")
    .option("--tenant <id>", "one tenant's")
    .option("--json", "print JSON")
    .action((o: { tenant?: string; json?: boolean }) =>
      run(() =>
        withAdmin(async (admin) => {
          const endpoints = await admin.call("webhooks.list", o.tenant ? { tenantId: o.tenant } : {});
          if (o.json) return printJson(endpoints);
          if (endpoints.length === 0) return void process.stdout.write("no webhook endpoints\n");
          printTable(endpoints.map((e) => ({ id: e.id, tenant: e.tenantId, url: e.url, events: e.events.join(","), backlog: e.deliveries.backlog, failed: e.deliveries.failed, "oldest pending": formatAge(e.deliveries.oldestPendingAgeMs ?? undefined), "old secret until": e.previousSecretUntil ?? "-" })));
        }),
      ),
    );

  webhooks
    .command("remove <id>")
    .description("remove an endpoint and its deliveries")
    .action((id: string) => run(() => withAdmin(async (admin) => void (await admin.call("webhooks.remove", { id }), process.stdout.write(`removed ${id}\n`)))));

  webhooks
    .command("rotate-secret <id>")
    .description("a new signing secret; the old one keeps signing beside it for INLET_WEBHOOK_ROTATION_GRACE_MS (24 h)")
    .option("--json", "print JSON")
    .action((id: string, o: { json?: boolean }) =>
      run(() =>
        withAdmin(async (admin) => {
          const { endpoint, secret } = await admin.call("webhooks.rotate-secret", { id });
          if (o.json) return printJson({ ...endpoint, secret });
          process.stdout.write(`new signing secret for ${endpoint.id} (shown once): ${secret}\nthe old secret also signs until ${endpoint.previousSecretUntil}\n`);
        }),
      ),
    );

  webhooks
    .command("test <id>")
    .description("send a signed webhook.ping now and show the answer")
    .option("--json", "print JSON")
    .action((id: string, o: { json?: boolean }) =>
      run(() =>
        withAdmin(async (admin) => {
          const result = await admin.call("webhooks.test", { id });
          if (o.json) printJson(result);
          else process.stdout.write(result.ok ? `ping ${result.eventId}: ${result.status} in ${result.durationMs} ms\n` : `ping ${result.eventId} failed: ${result.error}${result.status ? ` (${result.status})` : ""}\n`);
          if (!result.ok) process.exitCode = 1;
        }),
      ),
    );

  webhooks
    .command("deliveries")
    .description("deliveries, newest first")
    .option("--failed", "only those that failed for good (retry window over)")
    .option("--tenant <id>", "one tenant's")
    .option("--endpoint <id>", "one endpoint's")
    .option("--limit <n>", "at most this many (default 50)", positiveWholeNumber)
    .option("--json", "print JSON")
    .action((o: { failed?: boolean; tenant?: string; endpoint?: string; limit?: number; json?: boolean }) =>
      run(() =>
        withAdmin(async (admin) => {
          const rows = await admin.call("webhooks.deliveries", { ...(o.failed ? { failedOnly: true } : {}), ...(o.tenant ? { tenantId: o.tenant } : {}), ...(o.endpoint ? { endpointId: o.endpoint } : {}), ...(o.limit ? { limit: o.limit } : {}) });
          if (o.json) return printJson(rows);
          if (rows.length === 0) return void process.stdout.write(o.failed ? "no failed deliveries\n" : "no deliveries\n");
          printTable(rows.map((d) => ({ id: d.id, event: d.eventId, type: d.type, ticket: d.ticketNumber ?? "-", endpoint: d.endpointId, status: d.status, attempts: d.attempts, "last answer": d.lastStatus ?? (d.lastError ? d.lastError.slice(0, 40) : "-"), "next attempt": d.nextAttemptAt ?? "-" })));
        }),
      ),
    );

  webhooks
    .command("redeliver [id]")
    .description("send a delivery again (with a fresh retry window), or every failed one")
    .option("--all-failed", "every failed delivery")
    .option("--endpoint <id>", "with --all-failed: one endpoint's")
    .action((id: string | undefined, o: { allFailed?: boolean; endpoint?: string }) =>
      run(() => {
        if (!!id === !!o.allFailed) throw new CliError("give a delivery id or --all-failed", 2);
        return withAdmin(async (admin) => {
          if (o.allFailed) {
            const { requeued } = await admin.call("webhooks.redeliver-failed", o.endpoint ? { endpointId: o.endpoint } : {});
            return void process.stdout.write(`${requeued} failed deliver${requeued === 1 ? "y" : "ies"} queued again\n`);
          }
          const n = Number(id);
          if (!Number.isInteger(n) || n <= 0) throw new CliError("a delivery id is a positive integer (see `inlet webhooks deliveries`)", 2);
          const { previousStatus } = await admin.call("webhooks.redeliver", { id: n });
          process.stdout.write(previousStatus === "pending" ? `delivery ${n} is pending already\n` : `delivery ${n} (${previousStatus}) queued again\n`);
        });
      }),
    );
}
