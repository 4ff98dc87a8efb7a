// The stored shape of each provider's credentials (consumer/domain/mailbox.ts), checked whenever
// a row is written or read. Strict: a field nobody knows is refused, not carried along.
import { z } from "zod";
import type { MailboxCredentials } from "../domain/mailbox.ts";

const text = z.string().min(1);

const microsoftApp = {
  azureTenantId: text,
  clientId: text,
};
const secretOrCertificate = <T extends z.ZodRawShape>(shape: T) =>
  z.union([
    z.strictObject({ ...shape, ...microsoftApp, clientSecret: text }),
    z.strictObject({ ...shape, ...microsoftApp, certificate: z.strictObject({ thumbprint: z.string().regex(/^[A-Za-z0-9_-]{27}$/), privateKey: text }) }),
  ]);

const serviceAccount = z.strictObject({ clientEmail: z.string().includes("@"), privateKeyId: text, privateKey: text });
const googleAuth = <T extends z.ZodRawShape>(shape: T) =>
  z.union([z.strictObject({ ...shape, clientId: text, clientSecret: text, refreshToken: text }), z.strictObject({ ...shape, serviceAccount })]);

const imapOAuth = z.union([secretOrCertificate({ provider: z.literal("microsoft") }), googleAuth({ provider: z.literal("google") })]);

const credentialsSchema = z.union([
  secretOrCertificate({ type: z.literal("microsoft") }),
  googleAuth({ type: z.literal("google") }),
  z.strictObject({
    type: z.literal("imap"),
    host: text,
    port: z.number().int().min(1).max(65535),
    secure: z.boolean(),
    user: text,
    password: z.string().optional(),
    accessToken: z.string().optional(),
    oauth: imapOAuth.optional(),
    folder: z.string().optional(),
  }),
]);

/** The credentials, or an error naming where they do not fit (never their values). */
export function parseCredentials(value: unknown): { ok: true; credentials: MailboxCredentials } | { ok: false; problem: string } {
  const parsed = credentialsSchema.safeParse(value);
  if (parsed.success) return { ok: true, credentials: parsed.data as MailboxCredentials };
  const issue = parsed.error.issues[0];
  return { ok: false, problem: `${issue?.path.join(".") || "(root)"}: ${issue?.code ?? "invalid"}` };
}
