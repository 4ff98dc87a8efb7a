// `inlet api-tokens`: bearer tokens of the read API (/v1), per tenant. create prints the token
// once; only its hash is stored.
import type { Command } from "commander";
import { withAdmin } from "../admin-client.ts";
import { printJson, printTable, run } from "../output.ts";

export function registerApiTokens(program: Command): void {
  const tokens = program.command("api-tokens").description("read API tokens per tenant");
  tokens
    .command("create")
    .description("a new token for a tenant, printed once")
    .requiredOption("--tenant <id>", "the tenant")
    .option("--name <name>", "what it is for")
    .option("--json", "print JSON")
    .action((o: { tenant: string; name?: string; json?: boolean }) =>
      run(() =>
        withAdmin(async (admin) => {
          const { token, apiToken } = await admin.call("api-tokens.create", { tenantId: o.tenant, ...(o.name ? { name: o.name } : {}) });
          if (o.json) return printJson({ ...apiToken, token });
          process.stdout.write(`token ${apiToken.id} for tenant ${apiToken.tenantId} (shown once): ${token}\nuse it as Authorization: Bearer ${token}\n`);
        }),
      ),
    );
  tokens
    .command("list")
    .option("--tenant <id>", "one tenant's")
    .option("--json", "print JSON")
    .action((o: { tenant?: string; json?: boolean }) =>
      run(() =>
        withAdmin(async (admin) => {
          const list = await admin.call("api-tokens.list", o.tenant ? { tenantId: o.tenant } : {});
          if (o.json) return printJson(list);
          if (list.length === 0) return void process.stdout.write("no API tokens\n");
          printTable(list.map((t) => ({ id: t.id, tenant: t.tenantId, name: t.name ?? "-", created: t.createdAt, "last used": t.lastUsedAt ?? "-" })));
        }),
      ),
    );
  tokens
    .command("revoke <id>")
    .action((id: string) => run(() => withAdmin(async (admin) => void (await admin.call("api-tokens.revoke", { id }), process.stdout.write(`revoked ${id}\n`)))));
}
