// Local development secrets: made once per checkout under .inlet/, printed by `inlet dev`, read
// by `inlet demo`. Never used outside a local stack. The key that seals the local stack's stored
// credentials lives beside them (.inlet/secrets-key, a one-key ring named `dev`): only the stack
// passes it to its consumer, nothing else reads that file.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const devSecretsSchema = z.object({
  restToken: z.string().min(16),
  adminToken: z.string().min(16),
  imapWebhookSecret: z.string().min(16),
});

export type DevSecrets = z.infer<typeof devSecretsSchema> & {
  /** INLET_SECRETS_KEY for the local stack's consumer. */
  secretsKey: string;
};

const KEY_RING_ENTRY = /^dev:[A-Za-z0-9+/]{43}=$/;

function loadDevSecretsKey(dataDir: string): string {
  const file = join(dataDir, "secrets-key");
  if (existsSync(file)) {
    const key = readFileSync(file, "utf8").trim();
    if (KEY_RING_ENTRY.test(key)) return key;
    throw new Error(`${file} is not a development key (dev:<base64 32 bytes>): remove it to have a new one made`);
  }
  const key = `dev:${randomBytes(32).toString("base64")}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

export function loadDevSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, "dev-secrets.json");
  if (existsSync(file)) return { ...devSecretsSchema.parse(JSON.parse(readFileSync(file, "utf8"))), secretsKey: loadDevSecretsKey(dataDir) };
  const secret = () => `dev-${randomBytes(18).toString("base64url")}`;
  const secrets = { restToken: secret(), adminToken: secret(), imapWebhookSecret: secret() };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return { ...secrets, secretsKey: loadDevSecretsKey(dataDir) };
}
