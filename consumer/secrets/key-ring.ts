// The key ring that seals stored credentials, from INLET_SECRETS_KEY:
//   INLET_SECRETS_KEY=<name>:<base64 key>[,<name>:<base64 key>…]   named keys; the first seals
//   INLET_SECRETS_KEY=<base64 key>                                   one key, named by its fingerprint
// Each key is 32 random bytes (AES-256), in base64 or base64url. Names are what a sealed value
// records, so a value sealed under an older key is opened with that key for as long as the ring
// still holds it: rotating means putting a new key first, running `inlet secrets rotate`, then
// dropping the old key from the ring. Key bytes never appear in an error message.
import { createHash } from "node:crypto";

export const KEY_BYTES = 32;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

export interface SecretKey {
  readonly id: string;
  readonly key: Buffer;
}

export class KeyRing {
  readonly #keys: readonly SecretKey[];

  constructor(keys: readonly SecretKey[]) {
    if (keys.length === 0) throw new RangeError("a key ring needs at least one key");
    this.#keys = keys;
  }

  /** The key new values are sealed under. */
  get primary(): SecretKey {
    return this.#keys[0]!;
  }

  get ids(): string[] {
    return this.#keys.map((k) => k.id);
  }

  get(id: string): SecretKey | undefined {
    return this.#keys.find((k) => k.id === id);
  }
}

/** The name a key given without one goes by: its fingerprint, so two different unnamed keys
 * never share a name. */
export function fingerprintId(key: Buffer): string {
  return `fp-${createHash("sha256").update("inlet-secrets-key\u0000").update(key).digest("hex").slice(0, 16)}`;
}

function decodeKey(variable: string, value: string, position: string): Buffer {
  const key = BASE64.test(value) ? Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64") : Buffer.alloc(0);
  if (key.length !== KEY_BYTES) throw new RangeError(`${variable}: ${position} is not a base64 ${KEY_BYTES}-byte key`);
  return key;
}

/** Parse a key ring; `variable` names the setting in error messages. */
export function parseKeyRing(value: string, variable = "INLET_SECRETS_KEY"): KeyRing {
  const entries = value.split(",").map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) throw new RangeError(`${variable} holds no key`);
  const keys: SecretKey[] = entries.map((entry, i) => {
    const colon = entry.indexOf(":");
    const position = entries.length === 1 ? "the value" : `entry ${i + 1}`;
    if (colon < 0) {
      const key = decodeKey(variable, entry, position);
      return { id: fingerprintId(key), key };
    }
    const id = entry.slice(0, colon);
    if (!NAME.test(id)) throw new RangeError(`${variable}: ${position} has a key name that is not 1-64 letters, digits, '.', '_' or '-'`);
    return { id, key: decodeKey(variable, entry.slice(colon + 1), `key ${JSON.stringify(id)}`) };
  });
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.id)) throw new RangeError(`${variable}: the key name ${JSON.stringify(k.id)} is given twice`);
    seen.add(k.id);
  }
  return new KeyRing(keys);
}
