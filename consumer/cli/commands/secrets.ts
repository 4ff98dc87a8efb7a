// `inlet secrets`: the key ring that seals stored credentials (INLET_SECRETS_KEY).
//   new-key [--name N]   print a fresh key ring entry (32 random bytes), to put first in the ring
//   status               which key seals how many mailboxes; plain rows
//   rotate               seal every row again under the ring's first key (plain rows too)
import { randomBytes } from "node:crypto";
import { InvalidArgumentError, type Command } from "commander";
import { databaseConfig } from "../../config.ts";
import { openDatabase } from "../../store/open.ts";
import { resealAll, secretsStatus } from "../../store/sealing.ts";
import { resealEndpointSecrets } from "../../delivery/endpoints.ts";
import { CliError, printJson, printTable, run } from "../output.ts";

const keyName = (value: string) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(value)) throw new InvalidArgumentError("1-64 letters, digits, '.', '_' or '-'");
  return value;
};

export function registerSecrets(program: Command): void {
  const secrets = program.command("secrets").description("the key ring that seals stored credentials (INLET_SECRETS_KEY)");

  secrets
    .command("new-key")
    .description("print a new key ring entry <name>:<base64 key>; put it first in INLET_SECRETS_KEY, then run `inlet secrets rotate`")
    .option("--name <name>", "the key's name", keyName)
    .action((o: { name?: string }) =>
      run(async () => {
        const name = o.name ?? `k${new Date().toISOString().slice(0, 10).replace(/-/g, "")}`;
        process.stdout.write(`${name}:${randomBytes(32).toString("base64")}\n`);
      }),
    );

  secrets
    .command("status")
    .description("how many mailboxes are sealed under which key, and how many hold a plain secret")
    .option("--json", "print JSON")
    .action((o: { json?: boolean }) =>
      run(async () => {
        const config = databaseConfig(process.env);
        const db = await openDatabase(config);
        try {
          const status = await secretsStatus(db);
          const report = { ring: config.secrets?.ids ?? [], sealingKey: config.secrets?.primary.id ?? null, ...status };
          if (o.json) return printJson(report);
          process.stdout.write(`key ring: ${report.ring.length ? report.ring.join(", ") : "(INLET_SECRETS_KEY not set)"}\n`);
          printTable(status.rowsByKey.map((r) => ({ "sealed under": r.keyId ?? "(nothing sealed)", mailboxes: r.rows })));
          if (status.plainRows > 0) process.stdout.write(`${status.plainRows} mailbox(es) hold a secret in plain text: run \`inlet secrets rotate\` with INLET_SECRETS_KEY set\n`);
        } finally {
          await db.close();
        }
      }),
    );

  secrets
    .command("rotate")
    .description("seal every stored credential again under the key ring's first key; afterwards the older keys can leave the ring")
    .option("--json", "print JSON")
    .action((o: { json?: boolean }) =>
      run(async () => {
        const config = databaseConfig(process.env);
        const ring = config.secrets;
        if (!ring) throw new CliError("INLET_SECRETS_KEY is not set: put the new key first in the ring (see `inlet secrets new-key`), keep the old ones after it", 2);
        const db = await openDatabase(config);
        try {
          const { endpoints, ...report } = await db.transaction(async (tx) => ({ ...(await resealAll(tx, ring)), endpoints: await resealEndpointSecrets(tx, ring) }));
          const status = await secretsStatus(db);
          const result = { ...report, webhookEndpoints: endpoints, rowsByKey: status.rowsByKey, plainRows: status.plainRows, unusedKeys: ring.ids.filter((id) => id !== report.keyId) };
          if (o.json) return printJson(result);
          process.stdout.write(`${report.resealed} mailbox(es) and ${endpoints} webhook endpoint secret(s) sealed again under ${report.keyId}; every stored credential is now under it${result.unusedKeys.length ? `. No longer needed in INLET_SECRETS_KEY: ${result.unusedKeys.join(", ")}` : ""}\n`);
        } finally {
          await db.close();
        }
      }),
    );
}
