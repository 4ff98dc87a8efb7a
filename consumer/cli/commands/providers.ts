// `inlet providers`: connect (add, or the consent flows), check, list, remove and renew mailboxes.
// Output never carries a secret: results name ids, addresses and cursors; `list --json` shows
// credentials masked ([sealed:<key>], [secret], or the env:NAME reference).
import { readFileSync } from "node:fs";
import { InvalidArgumentError, Option, type Command } from "commander";
import { z } from "zod";
import { registryField } from "../../../src/queue/registry.ts";
import { certificateThumbprint } from "../../auth/client-assertion.ts";
import { consumerConfig, type ConsumerConfig } from "../../config.ts";
import type { GoogleAuth, MailboxCredentials, MicrosoftApp, ProviderKind } from "../../domain/mailbox.ts";
import { adminConsentUrl } from "../../oauth/microsoft-admin-consent.ts";
import { randomState } from "../../oauth/pkce.ts";
import { createProviderApis } from "../../provider-api/apis.ts";
import { checkMailbox } from "../../providers/check.ts";
import { connectMailbox, type ConnectResult, type Onboard } from "../../providers/connect.ts";
import type { ProviderContext } from "../../providers/context.ts";
import { unwatchGmail } from "../../providers/google.ts";
import { connectGoogleInteractively, connectMicrosoftInteractively } from "../../providers/interactive.ts";
import { unsubscribeMicrosoft } from "../../providers/microsoft.ts";
import { onboardGmail, onboardImap, onboardMicrosoft } from "../../providers/onboard.ts";
import { renewDue, type RenewReport } from "../../providers/upkeep.ts";
import { listMailboxHealth, renewMailboxNow, resyncMailboxNow } from "../../operations/mailboxes.ts";
import { HealthStore } from "../../store/health.ts";
import { connectQueue } from "../../runtime/queue-connection.ts";
import { censusOf, maskCredentials } from "../../secrets/credential-fields.ts";
import { Mailboxes } from "../../store/mailboxes.ts";
import { openDatabase } from "../../store/open.ts";
import { CliError, printJson, printTable, run } from "../output.ts";

async function withProviders<T>(body: (ctx: ProviderContext, config: ConsumerConfig, health: HealthStore) => Promise<T>): Promise<T> {
  const config = consumerConfig(process.env);
  const connection = connectQueue(config, { failFast: true });
  const db = await openDatabase(config);
  try {
    return await body({ mailboxes: new Mailboxes(db, config.secretsEnv, config.secrets), queue: connection.queue, apis: createProviderApis(config.providers), ingressUrl: config.ingressUrl }, config, new HealthStore(db));
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
const seconds = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a number of seconds");
  return n;
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A file's text, or `env:NAME` kept as the reference (read when the mailbox is used). */
function fileOrReference(value: string, what: string): string {
  if (value.startsWith("env:")) return value;
  try {
    return readFileSync(value, "utf8");
  } catch (error) {
    throw new CliError(`cannot read the ${what} ${value}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`, 2);
  }
}

interface AppOptions {
  clientId: string;
  clientSecret?: string;
  certificate?: string;
  privateKey?: string;
}

/** The app's own credential: a client secret, or a certificate (its x5t is computed here) with
 * its private key (in the same PEM file, or in --private-key). */
function appCredential(o: AppOptions): Omit<MicrosoftApp, "azureTenantId"> {
  if (o.clientSecret && o.certificate) throw new CliError("give --client-secret or --certificate, not both", 2);
  if (o.clientSecret) return { clientId: o.clientId, clientSecret: o.clientSecret };
  if (!o.certificate) throw new CliError("give --client-secret or --certificate", 2);
  const pem = fileOrReference(o.certificate, "certificate");
  let thumbprint: string;
  try {
    thumbprint = certificateThumbprint(pem);
  } catch {
    throw new CliError(`${o.certificate} holds no PEM certificate`, 2);
  }
  const key = o.privateKey ? fileOrReference(o.privateKey, "private key") : /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pem)?.[0];
  if (!key) throw new CliError("the certificate file holds no PKCS#8 private key (-----BEGIN PRIVATE KEY-----): give --private-key", 2);
  if (!key.startsWith("env:") && !key.includes("BEGIN PRIVATE KEY")) throw new CliError("the private key must be PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)", 2);
  return { clientId: o.clientId, certificate: { thumbprint, privateKey: key.trim() + (key.startsWith("env:") ? "" : "\n") } };
}

const serviceAccountKeySchema = z.object({ type: z.literal("service_account"), client_email: z.string().includes("@"), private_key_id: z.string().min(1), private_key: z.string().includes("PRIVATE KEY") });

function serviceAccount(file: string): Extract<GoogleAuth, { serviceAccount: object }> {
  let parsed: z.infer<typeof serviceAccountKeySchema>;
  try {
    parsed = serviceAccountKeySchema.parse(JSON.parse(fileOrReference(file, "service account key")));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${file} is not a service account key (JSON with type service_account, client_email, private_key_id, private_key)`, 2);
  }
  return { serviceAccount: { clientEmail: parsed.client_email, privateKeyId: parsed.private_key_id, privateKey: parsed.private_key } };
}

interface Common {
  tenant: string;
  bulkOpensTickets?: boolean;
}

function printConnected(kind: ProviderKind, tenant: string, address: string, result: ConnectResult): void {
  printJson({ providerId: result.providerId, kind, tenant, address: address.toLowerCase(), connectedAs: result.connectedAs, requeued: result.requeued, ...result.details });
}

/** Credentials are sealed when a key ring is configured; without one, a secret given as a value
 * (not an `env:NAME` reference) is refused unless plain storage was asked for. */
function refusePlainSecrets(config: ConsumerConfig, credentials: unknown): void {
  if (config.secrets || config.allowPlainSecrets || censusOf(credentials).plain === 0) return;
  throw new CliError(
    "refusing to store a secret in plain text: set INLET_SECRETS_KEY (a base64 32-byte key, e.g. `openssl rand -base64 32`) so stored credentials are sealed, pass the secret as an env:NAME reference, or set INLET_ALLOW_PLAINTEXT_SECRETS=1 to store it as given",
  );
}

async function addProvider(kind: ProviderKind, address: string, credentials: MailboxCredentials, options: Common, onboard: (ctx: ProviderContext) => Onboard): Promise<void> {
  await withProviders(async (ctx, config) => {
    refusePlainSecrets(config, credentials);
    try {
      const result = await connectMailbox(ctx, { tenantId: options.tenant, kind, address, credentials, ...(options.bulkOpensTickets ? { bulkMailOpensTickets: true } : {}) }, onboard(ctx));
      printConnected(kind, options.tenant, address, result);
    } catch (error) {
      throw new CliError(`could not connect ${kind} mailbox ${address}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}

const topicOption = (value: string) => {
  if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(value)) throw new InvalidArgumentError("must look like projects/<project>/topics/<topic>");
  return value;
};

/** Interactive flows print the URL to open, on stderr (stdout keeps the result). */
const showUrl = (who: string) => (url: string) => void process.stderr.write(`Open this address in a browser, signed in as ${who}:\n\n  ${url}\n\nWaiting for the browser to come back…\n`);

function authorisationText(m: { authorisation?: { reason: string; since: string } }): string {
  return m.authorisation ? `needs re-authorisation (${m.authorisation.reason} since ${m.authorisation.since})` : "healthy";
}

export function registerProviders(program: Command): void {
  const providers = program.command("providers").description("connect, check, list, remove and renew mailboxes");
  const add = providers.command("add").description("connect a mailbox with credentials you have (writes the database and the edge registry)");
  const connect = providers.command("connect").description("connect a mailbox through the provider's consent flow (browser, loopback redirect)");
  const common = (cmd: Command) => cmd.requiredOption("--tenant <id>", "the helpdesk tenant the mail belongs to").option("--bulk-opens-tickets", "let list and bulk mail open tickets");
  const appOptions = (cmd: Command) =>
    cmd
      .requiredOption("--client-id <id>", "the app registration's client id")
      .option("--client-secret <secret>", "the app's client secret, or env:NAME to read it from the environment at run time")
      .option("--certificate <file>", "a PEM file with the app's certificate (and its private key, unless --private-key): client assertions instead of a secret")
      .option("--private-key <file>", "the certificate's PKCS#8 private key (PEM file, or env:NAME)");

  appOptions(common(add.command("microsoft")))
    .description("a Microsoft 365 mailbox through Graph (app-only credentials); creates the change subscription")
    .requiredOption("--mailbox <address>", "the mailbox (user id or UPN)")
    .requiredOption("--azure-tenant <id>", "the customer's Entra tenant id")
    .action((o: Common & AppOptions & { mailbox: string; azureTenant: string }) =>
      run(async () => {
        const app = appCredential(o);
        await addProvider("microsoft", o.mailbox, { type: "microsoft", azureTenantId: o.azureTenant, ...app } as MailboxCredentials, o, onboardMicrosoft);
      }),
    );

  common(add.command("google"))
    .description("a Gmail / Google Workspace mailbox by a refresh token, or many at once through a service account with domain-wide delegation; calls watch on INBOX")
    .requiredOption("--address <email>", "the mailbox address (repeat it with --service-account-key)", collect)
    .option("--client-id <id>", "OAuth client id")
    .option("--client-secret <secret>", "OAuth client secret, or env:NAME")
    .option("--refresh-token <token>", "the mailbox's OAuth refresh token, or env:NAME")
    .option("--service-account-key <file>", "a service account's JSON key; the Workspace admin delegated gmail.readonly to its client id")
    .addOption(new Option("--topic <name>", "the Pub/Sub topic, projects/<project>/topics/<topic>").argParser(topicOption).makeOptionMandatory())
    .action((o: Common & { address: string[]; clientId?: string; clientSecret?: string; refreshToken?: string; serviceAccountKey?: string; topic: string }) =>
      run(async () => {
        let auth: GoogleAuth;
        if (o.serviceAccountKey) {
          if (o.refreshToken) throw new CliError("give --refresh-token or --service-account-key, not both", 2);
          auth = serviceAccount(o.serviceAccountKey);
        } else {
          if (!o.clientId || !o.clientSecret || !o.refreshToken) throw new CliError("give --client-id, --client-secret and --refresh-token, or --service-account-key", 2);
          if (o.address.length > 1) throw new CliError("a refresh token reads one mailbox: give one --address", 2);
          auth = { clientId: o.clientId, clientSecret: o.clientSecret, refreshToken: o.refreshToken };
        }
        let failed = 0;
        for (const address of o.address) {
          try {
            await addProvider("google", address, { type: "google", ...auth } as MailboxCredentials, o, (ctx) => onboardGmail(ctx, o.topic));
          } catch (error) {
            if (o.address.length === 1) throw error;
            failed++;
            process.stderr.write(`inlet: ${error instanceof Error ? error.message : String(error)}\n`);
          }
        }
        if (failed > 0) throw new CliError(`${failed} of ${o.address.length} mailboxes could not be connected`);
      }),
    );

  common(add.command("imap"))
    .description("an IMAP mailbox, watched by the consumer's IMAP listener (password, or OAuth2 by XOAUTH2)")
    .requiredOption("--address <email>", "the mailbox address (the helpdesk's own address, for loop detection)")
    .requiredOption("--host <host>", "IMAP server")
    .option("--port <port>", "IMAP port", port, 993)
    .option("--no-tls", "plain IMAP (local servers only)")
    .requiredOption("--user <user>", "login name")
    .option("--password <password>", "password, or env:NAME")
    .option("--access-token <token>", "a fixed OAuth2 access token, or env:NAME (never refreshed: prefer --oauth)")
    .addOption(new Option("--oauth <provider>", "XOAUTH2 with tokens Inlet refreshes: microsoft (Exchange Online, app-only) or google").choices(["microsoft", "google"]))
    .option("--azure-tenant <id>", "with --oauth microsoft: the customer's Entra tenant id")
    .option("--client-id <id>", "with --oauth: the app's client id")
    .option("--client-secret <secret>", "with --oauth: the app's client secret, or env:NAME")
    .option("--certificate <file>", "with --oauth microsoft: the app's certificate (PEM)")
    .option("--private-key <file>", "with --oauth microsoft: the certificate's private key")
    .option("--refresh-token <token>", "with --oauth google: the user's refresh token (scope https://mail.google.com/), or env:NAME")
    .option("--service-account-key <file>", "with --oauth google: a service account key with domain-wide delegation of https://mail.google.com/")
    .option("--folder <name>", "folder to watch", "INBOX")
    .action((o: Common & Partial<AppOptions> & { address: string; host: string; port: number; tls: boolean; user: string; password?: string; accessToken?: string; oauth?: "microsoft" | "google"; azureTenant?: string; refreshToken?: string; serviceAccountKey?: string; folder: string }) =>
      run(async () => {
        const ways = [o.password, o.accessToken, o.oauth].filter(Boolean).length;
        if (ways !== 1) throw new CliError("give one of --password, --access-token or --oauth", 2);
        let oauth: Record<string, unknown> | undefined;
        if (o.oauth === "microsoft") {
          if (!o.azureTenant || !o.clientId) throw new CliError("--oauth microsoft needs --azure-tenant, --client-id and --client-secret or --certificate", 2);
          oauth = { provider: "microsoft", azureTenantId: o.azureTenant, ...appCredential({ clientId: o.clientId, ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}), ...(o.certificate ? { certificate: o.certificate } : {}), ...(o.privateKey ? { privateKey: o.privateKey } : {}) }) };
        } else if (o.oauth === "google") {
          if (o.serviceAccountKey) oauth = { provider: "google", ...serviceAccount(o.serviceAccountKey) };
          else if (o.clientId && o.clientSecret && o.refreshToken) oauth = { provider: "google", clientId: o.clientId, clientSecret: o.clientSecret, refreshToken: o.refreshToken };
          else throw new CliError("--oauth google needs --client-id, --client-secret and --refresh-token, or --service-account-key", 2);
        }
        const credentials = { type: "imap", host: o.host, port: o.port, secure: o.tls, user: o.user, folder: o.folder, ...(o.password ? { password: o.password } : {}), ...(o.accessToken ? { accessToken: o.accessToken } : {}), ...(oauth ? { oauth } : {}) } as MailboxCredentials;
        await addProvider("imap", o.address, credentials, o, onboardImap);
      }),
    );

  common(connect.command("google"))
    .description("a Gmail mailbox by Google's installed-app flow: PKCE, a loopback redirect on 127.0.0.1, gmail.readonly, offline access; then watch on INBOX")
    .requiredOption("--client-id <id>", "the OAuth client id (a Desktop app client)")
    .requiredOption("--client-secret <secret>", "its client secret")
    .option("--topic <name>", "the Pub/Sub topic, projects/<project>/topics/<topic> (a mailbox connected again keeps its own)", topicOption)
    .option("--login-hint <email>", "the account to suggest at sign-in")
    .option("--port <port>", "the loopback port to listen on (default: any free one)", port)
    .option("--timeout <seconds>", "how long to wait for the browser", seconds, 300)
    .action((o: Common & { clientId: string; clientSecret: string; topic?: string; loginHint?: string; port?: number; timeout: number }) =>
      run(() =>
        withProviders(async (ctx, config) => {
          // The flow ends with a refresh token, a secret stored as a value.
          refusePlainSecrets(config, { clientSecret: o.clientSecret, refreshToken: "(from the flow)" });
          const result = await connectGoogleInteractively(ctx, config.providers, {
            tenantId: o.tenant,
            clientId: o.clientId,
            clientSecret: o.clientSecret,
            topic: o.topic,
            open: showUrl(o.loginHint ?? "the mailbox's user"),
            timeoutMs: o.timeout * 1000,
            ...(o.port ? { port: o.port } : {}),
            ...(o.loginHint ? { loginHint: o.loginHint } : {}),
            ...(o.bulkOpensTickets ? { bulkMailOpensTickets: true } : {}),
          }).catch((error: unknown) => {
            throw new CliError(`could not connect a Gmail mailbox: ${error instanceof Error ? error.message : String(error)}`);
          });
          printConnected("google", o.tenant, result.address, result);
        }),
      ),
    );

  appOptions(common(connect.command("microsoft")))
    .description("a Microsoft 365 mailbox through admin consent (loopback redirect on 127.0.0.1): the consenting tenant's id comes back, the app's token must read the mailbox; then the subscription")
    .requiredOption("--mailbox <address>", "the mailbox (user id or UPN)")
    .option("--azure-tenant <id>", "the customer's Entra tenant (id or domain), or organizations to let any organisation's admin consent", "organizations")
    .option("--port <port>", "the loopback port (register http://127.0.0.1 as a redirect URI of the app)", port)
    .option("--timeout <seconds>", "how long to wait for the browser", seconds, 300)
    .option("--wait-for-grant <seconds>", "how long to keep checking while a fresh consent propagates", seconds, 120)
    .action((o: Common & AppOptions & { mailbox: string; azureTenant: string; port?: number; timeout: number; waitForGrant: number }) =>
      run(() =>
        withProviders(async (ctx, config) => {
          const app = appCredential(o);
          refusePlainSecrets(config, app);
          const result = await connectMicrosoftInteractively(ctx, config.providers, {
            tenantId: o.tenant,
            mailbox: o.mailbox,
            app,
            azureTenant: o.azureTenant,
            open: showUrl(`an administrator of ${o.azureTenant === "organizations" ? "the customer's organisation" : o.azureTenant}`),
            timeoutMs: o.timeout * 1000,
            waitForGrantMs: o.waitForGrant * 1000,
            ...(o.port ? { port: o.port } : {}),
            ...(o.bulkOpensTickets ? { bulkMailOpensTickets: true } : {}),
          }).catch((error: unknown) => {
            throw new CliError(`could not connect microsoft mailbox ${o.mailbox}: ${error instanceof Error ? error.message : String(error)}`);
          });
          printConnected("microsoft", o.tenant, o.mailbox, result);
        }),
      ),
    );

  providers
    .command("consent-url")
    .description("print the admin-consent URL to send to a customer's administrator")
    .argument("<provider>", "microsoft")
    .requiredOption("--client-id <id>", "the app registration's client id")
    .requiredOption("--redirect-uri <uri>", "where the administrator is sent afterwards (registered on the app)")
    .option("--azure-tenant <id>", "the customer's Entra tenant (id or domain), or organizations", "organizations")
    .option("--state <value>", "the state to carry through (default: random, printed)")
    .option("--json", "print JSON")
    .action((provider: string, o: { clientId: string; redirectUri: string; azureTenant: string; state?: string; json?: boolean }) =>
      run(async () => {
        if (provider !== "microsoft") throw new CliError("consent-url is for microsoft (Google's flow is `inlet providers connect google`)", 2);
        try {
          new URL(o.redirectUri);
        } catch {
          throw new CliError("--redirect-uri must be an absolute URL", 2);
        }
        const state = o.state ?? randomState();
        const url = adminConsentUrl({ loginBaseUrl: consumerConfig(process.env).providers.microsoftLoginBaseUrl, azureTenant: o.azureTenant, clientId: o.clientId, redirectUri: o.redirectUri, state });
        if (o.json) return printJson({ url, state });
        process.stdout.write(`${url}\n`);
        if (!o.state) process.stderr.write(`state: ${state} (check it on the redirect)\n`);
      }),
    );

  providers
    .command("check <id>")
    .description("prove that the stored grant reads the mailbox (Graph: the Inbox; Gmail: the profile; IMAP: login and select)")
    .option("--json", "print JSON")
    .action((id: string, o: { json?: boolean }) =>
      run(async () => {
        const report = await withProviders(async (ctx) => {
          const mailbox = await ctx.mailboxes.get(id);
          if (!mailbox) throw new CliError(`no connected mailbox with id ${id}`);
          return checkMailbox(ctx.apis, mailbox);
        });
        if (o.json) printJson(report);
        else {
          printTable(report.steps.map((s) => ({ step: s.step, result: s.ok ? "ok" : `failed: ${s.code ?? ""}`, detail: s.detail ?? "" })));
          process.stdout.write(report.ok ? `${report.address}: the grant reads the mailbox\n` : `${report.address}: the grant does not read the mailbox\n`);
        }
        if (!report.ok) process.exitCode = 1;
      }),
    );

  providers
    .command("list")
    .description("connected mailboxes, with their health: status, last notification, last mail, failures, expiry")
    .option("--json", "print JSON (credentials masked)")
    .action((o: { json?: boolean }) =>
      run(async () => {
        const rows = await withProviders(async (ctx, _config, health) => {
          const list = await listMailboxHealth(ctx.mailboxes, health);
          return Promise.all(
            list.map(async ({ mailbox: m, health: h }) => ({
              id: m.providerId,
              kind: m.kind,
              tenant: m.tenantId,
              address: m.address,
              status: m.authorisation ? authorisationText(m) : h.derived.status,
              why: h.derived.reason || "-",
              notified: h.lastNotificationAt ?? "-",
              processed: h.lastProcessedAt ?? "-",
              failures: h.consecutiveFailures,
              expires: h.expiresAt ?? "-",
              cursor: m.cursors.gmailHistoryId ?? (m.cursors.imapLastUid !== undefined ? `${m.cursors.imapUidValidity}:${m.cursors.imapLastUid}` : "-"),
              ...(o.json ? { health: h, lastSweep: m.cursors.lastSweep ?? null, authorisation: m.authorisation ?? null, credentials: maskCredentials(await ctx.mailboxes.storedCredentials(m.providerId)) } : {}),
            })),
          );
        });
        if (o.json) return printJson(rows);
        if (rows.length === 0) return void process.stdout.write("no mailboxes connected\n");
        printTable(rows.map(({ health: _h, lastSweep: _s, authorisation: _a, credentials: _c, ...row }) => row));
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
    .command("renew [id]")
    .description("renew Graph subscriptions and Gmail watches that expire soon; with an ID, that mailbox's now, whatever its expiry")
    .option("--json", "print JSON")
    .action((id: string | undefined, o: { json?: boolean }) =>
      run(async () => {
        const reports = await withProviders(async (ctx): Promise<RenewReport[]> => {
          if (!id) return renewDue(ctx);
          const report = await renewMailboxNow(ctx, id);
          if (!report) throw new CliError(`no connected mailbox with id ${id}`);
          return [report];
        });
        if (o.json) printJson(reports);
        else if (reports.length === 0) process.stdout.write("no mailboxes connected\n");
        else printTable(reports.map((r) => ({ id: r.providerId, kind: r.kind, action: r.action, expires: r.expiresAt ?? "-", error: r.code ? `${r.code}: ${r.error ?? ""}` : "" })));
        if (reports.some((r) => r.action === "failed")) process.exitCode = 1;
      }),
    );

  providers
    .command("resync <id>")
    .description("sweep a mailbox now (Graph delta, Gmail history from its cursor): mail no notification announced is enqueued")
    .option("--json", "print JSON")
    .action((id: string, o: { json?: boolean }) =>
      run(async () => {
        const result = await withProviders(async (ctx) => {
          const outcome = await resyncMailboxNow(ctx, id);
          if (!outcome) throw new CliError(`no connected mailbox with id ${id}`);
          return outcome;
        });
        if (o.json) printJson(result);
        else if (result.action === "swept") {
          const r = result.report;
          process.stdout.write(r.error ? `${id}: the sweep failed (${r.error})\n` : `${id}: listed ${r.listed}, enqueued ${r.enqueued}, of which ${r.found} no notification had announced\n`);
        } else process.stdout.write(`${id}: ${result.reason}\n`);
        if ((result.action === "swept" && result.report.error) || result.action === "waiting") process.exitCode = 1;
      }),
    );
}
