// One sealed value: AES-256-GCM under a named key of the ring, bound to where it is stored.
//
//   inlet:v1:<key name>:<iv>:<ciphertext and tag>
//
// iv: 12 random bytes, base64url; ciphertext and tag: the UTF-8 plaintext encrypted, followed by
// GCM's 16-byte tag, base64url. The additional authenticated data is `inlet:v1:<key name>:<context>`,
// where the context names the value's place (`mailbox:<id>:<field>`): a value copied to another
// row or field, or relabelled with another key name, fails the tag check like a tampered one.
// A fresh random IV per value (NIST SP 800-38D allows 2^32 random-IV encryptions per key, far more
// than Inlet ever seals).
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { permanent } from "../domain/errors.ts";
import type { KeyRing } from "./key-ring.ts";

const PREFIX = "inlet:v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SHAPE = /^inlet:v1:([A-Za-z0-9][A-Za-z0-9_.-]{0,63}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{22,})$/;

export const isSealed = (value: string) => value.startsWith(PREFIX);

/** The key name a sealed value records (undefined when it is not one). */
export const sealedKeyId = (value: string) => SHAPE.exec(value)?.[1];

const aad = (keyId: string, context: string) => Buffer.from(`${PREFIX}${keyId}:${context}`, "utf8");

export function seal(ring: KeyRing, plaintext: string, context: string): string {
  const { id, key } = ring.primary;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(id, context));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}${id}:${iv.toString("base64url")}:${body.toString("base64url")}`;
}

/** The plaintext; refuses (never guesses) a value that is malformed, sealed under a key the ring
 * does not hold, or that fails the tag check (a wrong key of the same name, or altered bytes). */
export function open(ring: KeyRing | undefined, sealed: string, context: string): string {
  const match = SHAPE.exec(sealed);
  if (!match) throw permanent("secrets_malformed", `the sealed value at ${context} is malformed`);
  const [, keyId, ivText, bodyText] = match as unknown as [string, string, string, string];
  if (!ring) throw permanent("secrets_key_missing", `the value at ${context} is sealed under key ${JSON.stringify(keyId)}, and INLET_SECRETS_KEY is not set`);
  const entry = ring.get(keyId);
  if (!entry) throw permanent("secrets_key_unknown", `the value at ${context} is sealed under key ${JSON.stringify(keyId)}, which INLET_SECRETS_KEY does not hold (it holds ${ring.ids.map((k) => JSON.stringify(k)).join(", ")})`);
  const body = Buffer.from(bodyText, "base64url");
  if (body.length < TAG_BYTES) throw permanent("secrets_malformed", `the sealed value at ${context} is too short`);
  const decipher = createDecipheriv("aes-256-gcm", entry.key, Buffer.from(ivText, "base64url"), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad(keyId, context));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    throw permanent("secrets_decrypt_failed", `the value at ${context} does not open under key ${JSON.stringify(keyId)}: the key is not the one it was sealed with, or the stored value was altered`);
  }
}
