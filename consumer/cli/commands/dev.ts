// `inlet dev` and `inlet demo`: the local stack. Its code lives in dev/ at the repository root,
// outside the production image and outside what `inlet consumer` loads: it is imported only when
// one of these commands runs.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import type { DemoReport } from "../../../dev/demo.ts";
import { createLogger } from "../../runtime/log.ts";
import { CliError, printTable, run } from "../output.ts";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "..");

/** The development tools, when this is a full checkout (the container image has none). */
async function devTools(): Promise<{ stack: typeof import("../../../dev/stack.ts"); secrets: typeof import("../../../dev/secrets.ts") }> {
  if (!existsSync(join(root, "dev", "stack.ts"))) throw new CliError("the local stack is not part of this installation (dev/ is missing): run it from a checkout of the repository");
  const [stack, secrets] = await Promise.all([import("../../../dev/stack.ts"), import("../../../dev/secrets.ts")]);
  return { stack, secrets };
}

export function registerDev(program: Command): void {
  program
    .command("dev")
    .description("the whole stack locally: Redis, REST endpoint, provider sandbox, wrangler dev, consumer on PGlite")
    .action(async () => {
      const tag = (source: string, line: string) => process.stdout.write(`[${source}] ${line}\n`);
      const consumerLog = createLogger({ destination: process.stdout });
      let stack;
      try {
        const { stack: dev } = await devTools();
        stack = await dev.startDevStack(dev.devStackOptions(process.env, root, tag, consumerLog));
      } catch (error) {
        process.stderr.write(`inlet dev: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      }
      const { urls, secrets } = stack;
      process.stdout.write(
        [
          "",
          "Inlet is running locally.",
          `  edge (Worker)        ${urls.worker}   POST /webhooks/microsoft | /webhooks/google | /webhooks/imap, GET /stats`,
          `  queue REST endpoint  ${urls.rest}   UPSTASH_REDIS_REST_TOKEN=${secrets.restToken}`,
          `  Redis                ${urls.redis}`,
          ...(urls.consumer ? [`  consumer             ${urls.consumer}   /console (sign in with INLET_ADMIN_TOKEN), /metrics, /healthz`] : []),
          `  provider sandbox     Graph ${urls.sandbox.graph}, Gmail ${urls.sandbox.gmail}, JWKS ${urls.sandbox.jwks}${urls.sandbox.imap ? `, IMAP ${urls.sandbox.imap}` : " (no Dovecot: IMAP demo off)"}`,
          `  development secrets  INLET_ADMIN_TOKEN=${secrets.adminToken}  IMAP_WEBHOOK_SECRET=${secrets.imapWebhookSecret}`,
          `  stored credentials   sealed with ${process.env.INLET_SECRETS_KEY ? "INLET_SECRETS_KEY" : "the development key in .inlet/secrets-key (this stack only)"}`,
          "Try it: npx inlet demo      Stop: Ctrl-C",
          "",
        ].join("\n"),
      );
      let stopping = false;
      const stop = (why: string, code: number) => {
        if (stopping) return;
        stopping = true;
        process.stdout.write(`\nstopping (${why})…\n`);
        void stack.stop().then(() => process.exit(code));
      };
      process.on("SIGINT", () => stop("SIGINT", 0));
      process.on("SIGTERM", () => stop("SIGTERM", 0));
      void stack.failed.then((why) => stop(why, 1));
    });

  program
    .command("demo")
    .description("a scripted end-to-end run against the local stack (start it first with npm start)")
    .option("--json", "print the report as JSON")
    .action((o: { json?: boolean }) =>
      run(async () => {
        const dataDir = process.env.INLET_DATA_DIR ?? join(root, ".inlet");
        const { secrets } = await devTools();
        let adminToken: string;
        try {
          readFileSync(join(dataDir, "dev-secrets.json"));
          adminToken = secrets.loadDevSecrets(dataDir).adminToken;
        } catch {
          throw new CliError("no local stack found: start it with `npm start` (or `npx inlet dev`) in another terminal");
        }
        const url = `http://127.0.0.1:${process.env.INLET_CONTROL_PORT ?? 8794}/demo`;
        const response = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${adminToken}` } }).catch(() => undefined);
        if (!response) throw new CliError(`the local stack does not answer at ${url}: start it with \`npm start\``);
        const body = (await response.json()) as DemoReport | { error: string };
        if ("error" in body) throw new CliError(`demo failed: ${body.error}`);
        if (o.json) return void process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        if (body.connections.length) {
          process.stdout.write("\nMailboxes connected:\n");
          printTable(body.connections.map((c) => ({ provider: c.provider, how: c.how })));
        }
        process.stdout.write("\nNotifications sent (HTTP status from the edge; 0 = IMAP, picked up by the listener's IDLE):\n");
        printTable(body.notifications.map((n) => ({ provider: n.provider, status: n.status })));
        process.stdout.write("\nTickets created:\n");
        printTable(body.tickets.map((t) => ({ "#": t.number, subject: t.subject, status: t.status, requester: t.requester, replies: t.replies, "internal notes": t.notes, attachments: t.attachments.join(", ") || "-" })));
        process.stdout.write("\nEvery message, exactly once:\n");
        printTable(body.messages.map((m) => ({ provider: m.provider, "message-id": m.identity, outcome: m.outcome })));
        process.stdout.write("\nQueue:\n");
        printTable([{ ready: body.queue.ready, processing: body.queue.processing, "retries pending": body.queue.delayed, "dead letters": body.queue.dlq }]);
      }),
    );
}
