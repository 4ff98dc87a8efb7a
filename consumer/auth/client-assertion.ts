// Microsoft identity platform client assertions: the app proves itself with a certificate instead
// of a secret. A JWT signed RS256 with the certificate's private key, its header naming the
// certificate by `x5t` (base64url SHA-1 thumbprint); `aud` the token endpoint, `iss` and `sub`
// the app's client id, a unique `jti`, valid for ten minutes. Sent as `client_assertion` with
// `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
import { randomUUID, X509Certificate, createHash } from "node:crypto";
import { importPKCS8, SignJWT } from "jose";
import type { MicrosoftCertificate } from "../domain/mailbox.ts";

export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const LIFETIME_S = 600;

export async function clientAssertion(clientId: string, certificate: MicrosoftCertificate, tokenUrl: string, now = Date.now()): Promise<string> {
  const key = await importPKCS8(certificate.privateKey, "RS256");
  const iat = Math.floor(now / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256", typ: "JWT", x5t: certificate.thumbprint })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + LIFETIME_S)
    .sign(key);
}

/** `x5t` of a PEM certificate: the base64url SHA-1 of its DER bytes. */
export function certificateThumbprint(certificatePem: string): string {
  return createHash("sha1").update(new X509Certificate(certificatePem).raw).digest("base64url");
}
