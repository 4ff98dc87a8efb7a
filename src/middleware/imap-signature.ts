// Verifies a post from Inlet's IMAP listener, cheapest check first: the secret is configured,
// the X-Inlet-Signature header has its shape and a timestamp inside the window (all before a
// byte of the body is read), then the body is read within `maxBytes` and its HMAC checked.
// Puts the signed bytes and the signature on the context for the route.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import { parseSignatureHeader, verifyImapSignature } from "../auth/imap-signature.ts";
import { refuse } from "../http-error.ts";
import { readBody, requireJson } from "./read-body.ts";

export type SignedBody = { bytes: Uint8Array; signature: string };
export type ImapEnv = AppEnv & { Variables: { signed: SignedBody } };

export function imapSignature(maxBytes: number) {
  return createMiddleware<ImapEnv>(async (c, next) => {
    const secret = c.var.config.imapSecret;
    if (!secret) refuse(503, "imap_not_configured", "IMAP_WEBHOOK_SECRET is not configured");
    const header = parseSignatureHeader(c.req.header("x-inlet-signature"), Math.floor(Date.now() / 1000));
    if (!header.ok) refuse(401, header.code, "the request signature was refused");
    requireJson(c);
    const bytes = await readBody(c, maxBytes);
    if (!(await verifyImapSignature(header, bytes, secret))) refuse(401, "bad_signature", "the request signature was refused");
    c.set("signed", { bytes, signature: header.hex });
    await next();
  });
}
