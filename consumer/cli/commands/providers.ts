import { InvalidArgumentError, type Command } from "commander";
import { registryField } from "../../../src/queue/registry.ts";
import type { MailboxCredentials, ProviderKind } from "../../domain/mailbox.ts";
import { consumerConfig } from "../../config.ts";
import { connectQueue } from "../../runtime/queue-connection.ts";
import { createProviderApis } from "../../provider-api/apis.ts";
import { Mailboxes } from "../../store/mailboxes.ts";
import { openDatabase } from "../../store/open.ts";
import type { ProviderContext } from "../../providers/context.ts";
import { subscribeMicrosoft, unsubscribeMicrosoft } from "../../providers/microsoft.ts";
import { unwatchGmail, watchGmail } from "../../providers/google.ts";
import { connectImap } from "../../providers/imap.ts";
import { renewDue } from "../../providers/upkeep.ts";
import { CliError, printJson, printTable, run } from "../output.ts";

async function withProviders<T>(body: (ctx: ProviderContext) => Promise<T>): Promise<T> {
  const config = consumerConfig(process.env);
  const connection = connectQueue(config, { failFast: true });
  const db = await openDatabase(config);
  try {
    return await body({ mailboxes: new Mailboxes(db, config.secretsEnv, config.secrets), queue: connection.queue, apis: createProviderApis(config.providers), ingressUrl: config.ingressUrl });
  } finally {
    await db.close();
    connection.close();
  }
}

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new InvalidArgumentError("expected a TCP port");
  return n;
};

interface Common {
  tenant: string;
  bulkOpensTickets?: boolean;
}

async function addProvider(kind: ProviderKind, address: string, credentials: MailboxCredentials, options: Common, connect: (ctx: ProviderContext, providerId: string) => Promise<Record<string, string>>): Promise<void> {
  await withProviders(async (ctx) => {
    const providerId = await ctx.mailboxes.add({ tenantId: options.tenant, kind, address, credentials, bulkMailOpensTickets: options.bulkOpensTickets ?? false });
    try {
      const details = await connect(ctx, providerId);
      printJson({ providerId, kind, tenant: options.tenant, address: address.toLowerCase(), ...details });
    } catch (error) {
      await ctx.mailboxes.remove(providerId); // do not leave a half-connected mailbox behind
      throw new CliError(`could not connect ${kind} mailbox ${address}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}

export function registerProviders(program: Command): void {
  const providers = program.command("providers").description("connect, list, remove and renew mailboxes");
  const add = providers.command("add").description("connect a mailbox (writes the database and the edge registry)");
  const common = (cmd: Command) => cmd.requiredOption("--tenant <id>", "the helpdesk tenant the mail belongs to").option("--bulk-opens-tickets", "let list and bulk mail open tickets");

  common(add.command("microsoft"))
    .description("a Microsoft 365 mailbox through Graph (app-only credentials); creates the change subscription")
    .requiredOption("--mailbox <address>", "the mailbox (user id or UPN)")
    .requiredOption("--azure-tenant <id>", "the customer's Entra tenant id")
    .requiredOption("--client-id <id>", "the app registration's client id")
    .requiredOption("--client-secret <secret>", "the client secret, or env:NAME to read it from the environment at run time")
    .action((o: Common & { mailbox: string; azureTenant: string; clientId: string; clientSecret: string }) =>
      run(() =>
        addProvider("microsoft", o.mailbox, { type: "microsoft", azureTenantId: o.azureTenant, clientId: o.clientId, clientSecret: o.clientSecret }, o, async (ctx, id) => {
          const mailbox = (await ctx.mailboxes.get(id))!;
          const { subscriptionId, expiresAt } = await subscribeMicrosoft(ctx, mailbox);
          return { subscriptionId, expiresAt };
        }),
      ),
    );

  common(add.command("google"))
    .description("a Gmail / Google Workspace mailbox; calls watch on INBOX")
    .requiredOption("--address <email>", "the mailbox address")
    .requiredOption("--client-id <id>", "OAuth client id")
    .requiredOption("--client-secret <secret>", "OAuth client secret, or env:NAME")
    .requiredOption("--refresh-token <token>", "the mailbox's OAuth refresh token, or env:NAME")
    .requiredOption("--topic <name>", "the Pub/Sub topic, projects/<project>/topics/<topic>")
    .action((o: Common & { address: string; clientId: string; clientSecret: string; refreshToken: string; topic: string }) =>
      run(async () => {
        if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(o.topic)) throw new CliError("--topic must look like projects/<project>/topics/<topic>", 2);
        await addProvider("google", o.address, { type: "google", clientId: o.clientId, clientSecret: o.clientSecret, refreshToken: o.refreshToken }, o, async (ctx, id) => {
          const watch = await watchGmail(ctx, (await ctx.mailboxes.get(id))!, o.topic, { setCursor: true });
          return { historyId: watch.historyId, expiresAt: watch.expiration };
        });
      }),
    );

  common(add.command("imap"))
    .description("an IMAP mailbox, watched by the consumer's IMAP listener")
    .requiredOption("--address <email>", "the mailbox address (the helpdesk's own address, for loop detection)")
    .requiredOption("--host <host>", "IMAP server")
    .option("--port <port>", "IMAP port", port, 993)
    .option("--no-tls", "plain IMAP (local servers only)")
    .requiredOption("--user <user>", "login name")
    .option("--password <password>", "password, or env:NAME")
    .option("--access-token <token>", "OAuth2 access token, or env:NAME")
    .option("--folder <name>", "folder to watch", "INBOX")
    .action((o: Common & { address: string; host: string; port: number; tls: boolean; user: string; password?: string; accessToken?: string; folder: string }) =>
      run(async () => {
        if (!o.password && !o.accessToken) throw new CliError("give --password or --access-token", 2);
        const credentials: MailboxCredentials = { type: "imap", host: o.host, port: o.port, secure: o.tls, user: o.user, folder: o.folder, ...(o.password ? { password: o.password } : {}), ...(o.accessToken ? { accessToken: o.accessToken } : {}) };
        await addProvider("imap", o.address, credentials, o, async (ctx, id) => {
          const connected = await connectImap(ctx, (await ctx.mailboxes.get(id))!);
          return { folder: connected.folder, uidValidity: connected.uidValidity };
        });
      }),
    );

  providers
    .command("list")
    .description("connected mailboxes")
    .option("--json", "print JSON")
    .action((o: { json?: boolean }) =>
      run(async () => {
        const list = await withProviders((ctx) => ctx.mailboxes.list());
        const rows = list.map((m) => ({
          id: m.providerId,
          kind: m.kind,
          tenant: m.tenantId,
          address: m.address,
          expires: m.cursors.graphSubscriptionExpiresAt ?? m.cursors.gmailWatchExpiration ?? "-",
          cursor: m.cursors.gmailHistoryId ?? (m.cursors.imapLastUid !== undefined ? `${m.cursors.imapUidValidity}:${m.cursors.imapLastUid}` : "-"),
        }));
        if (o.json) return printJson(rows);
        if (rows.length === 0) return void process.stdout.write("no mailboxes connected\n");
        printTable(rows);
      }),
    );

  providers
    .command("remove <id>")
    .description("disconnect a mailbox: its registry entry goes, so the edge refuses its notifications")
    .action((id: string) =>
      run(async () => {
        await withProviders(async (ctx) => {
          const mailbox = await ctx.mailboxes.get(id);
          if (!mailbox) throw new CliError(`no connected mailbox with id ${id}`);
          if (mailbox.kind === "microsoft") await unsubscribeMicrosoft(ctx, mailbox);
          else if (mailbox.kind === "google") await unwatchGmail(ctx, mailbox);
          else await ctx.queue.removeRegistryEntry(registryField.imapProvider(id));
          await ctx.mailboxes.remove(id);
        });
        process.stdout.write(`removed ${id}\n`);
      }),
    );

  providers
    .command("renew")
    .description("renew Graph subscriptions and Gmail watches that expire soon")
    .option("--json", "print JSON")
    .action((o: { json?: boolean }) =>
      run(async () => {
        const reports = await withProviders((ctx) => renewDue(ctx));
        if (o.json) printJson(reports);
        else if (reports.length === 0) process.stdout.write("no mailboxes connected\n");
        else printTable(reports.map((r) => ({ id: r.providerId, kind: r.kind, action: r.action, expires: r.expiresAt ?? "-", error: r.code ? `${r.code}: ${r.error ?? ""}` : "" })));
        if (reports.some((r) => r.action === "failed")) process.exitCode = 1;
      }),
    );
}
