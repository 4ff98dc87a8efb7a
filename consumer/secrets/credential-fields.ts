// Which fields of a mailbox's credentials are secrets, and sealing or opening all of them at once.
// Identifiers (client ids, tenant ids, hosts, user names, key ids) stay readable, so an operator
// can still see in the database which app or server a mailbox uses. `env:NAME` references are
// not secrets and stay as they are: the value is read from the environment when the row is used.
import { isSealed, open, seal, sealedKeyId } from "./sealed.ts";
import type { KeyRing } from "./key-ring.ts";

/** Field names that hold a secret wherever they appear in a credentials object. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(["clientSecret", "refreshToken", "password", "accessToken", "privateKey"]);

export const isReference = (value: string) => value.startsWith("env:");

type Visit = (value: string, path: string) => string;

function walk(value: unknown, path: string, visit: Visit): unknown {
  if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}.${i}`, visit));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    out[key] = typeof field === "string" && SECRET_FIELDS.has(key) ? visit(field, at) : walk(field, at, visit);
  }
  return out;
}

export const fieldContext = (providerId: string, path: string) => `mailbox:${providerId}:${path}`;

/** Every secret field sealed under the ring's primary key (references and sealed values kept). */
export function sealCredentials<T>(credentials: T, ring: KeyRing, providerId: string): T {
  return walk(credentials, "", (value, path) => (isReference(value) || isSealed(value) ? value : seal(ring, value, fieldContext(providerId, path)))) as T;
}

/** Every sealed field opened. */
export function openCredentials(credentials: unknown, ring: KeyRing | undefined, providerId: string): unknown {
  return walk(credentials, "", (value, path) => (isSealed(value) ? open(ring, value, fieldContext(providerId, path)) : value));
}

/** Every secret field opened and sealed again under the primary key (plain ones sealed too). */
export function resealCredentials(credentials: unknown, ring: KeyRing, providerId: string): unknown {
  return sealCredentials(openCredentials(credentials, ring, providerId), ring, providerId);
}

export interface SecretCensus {
  /** Secret fields stored in plain text (neither sealed nor a reference). */
  plain: number;
  /** Sealed fields by the key they are sealed under. */
  sealed: Map<string, number>;
}

export function censusOf(credentials: unknown): SecretCensus {
  const census: SecretCensus = { plain: 0, sealed: new Map() };
  walk(credentials, "", (value) => {
    const keyId = sealedKeyId(value);
    if (keyId) census.sealed.set(keyId, (census.sealed.get(keyId) ?? 0) + 1);
    else if (!isReference(value)) census.plain++;
    return value;
  });
  return census;
}

/** The credentials with every secret masked, for output: references shown, values never. */
export function maskCredentials(credentials: unknown): unknown {
  return walk(credentials, "", (value) => (isReference(value) ? value : isSealed(value) ? `[sealed:${sealedKeyId(value) ?? "?"}]` : "[secret]"));
}
