// Key rings and certificates for tests.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { parseKeyRing, type KeyRing } from "../../consumer/secrets/key-ring.ts";

/** A key ring entry `name:<base64 key>` with fresh key bytes. */
export const keyEntry = (name: string) => `${name}:${randomBytes(32).toString("base64")}`;

export function keyRing(...entries: string[]): KeyRing {
  return parseKeyRing(entries.join(","));
}

/** A self-signed RSA certificate and its PKCS#8 private key, as an app registration holds one. */
export function selfSignedCertificate(commonName = "inlet-test"): { certificatePem: string; privateKeyPem: string } {
  const out = execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "-", "-out", "-", "-subj", `/CN=${commonName}`, "-days", "2"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const privateKeyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(out)?.[0];
  const certificatePem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(out)?.[0];
  if (!privateKeyPem || !certificatePem) throw new Error("openssl did not print a key and a certificate");
  return { certificatePem, privateKeyPem };
}
