// Local development secrets: made once per checkout under .inlet/, printed by `inlet dev`, read
// by `inlet demo`. Never used outside a local stack.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const devSecretsSchema = z.object({
  restToken: z.string().min(16),
  adminToken: z.string().min(16),
  imapWebhookSecret: z.string().min(16),
});

export type DevSecrets = z.infer<typeof devSecretsSchema>;

export function loadDevSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, "dev-secrets.json");
  if (existsSync(file)) return devSecretsSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  const secret = () => `dev-${randomBytes(18).toString("base64url")}`;
  const secrets = { restToken: secret(), adminToken: secret(), imapWebhookSecret: secret() };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
