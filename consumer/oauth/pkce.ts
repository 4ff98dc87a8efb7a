// PKCE (RFC 7636) and the `state` parameter of an authorization request.
//   code_verifier: 32 random bytes, base64url (43 characters of the unreserved set)
//   code_challenge: base64url(SHA-256(verifier)), method S256
//   state: 32 random bytes, base64url, compared in constant time on the redirect
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export interface Pkce {
  verifier: string;
  challenge: string;
  method: "S256";
}

export function createPkce(): Pkce {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url"), method: "S256" };
}

export const randomState = () => randomBytes(32).toString("base64url");

export function sameState(expected: string, received: string | null): boolean {
  if (received === null) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(received);
  return a.length === b.length && timingSafeEqual(a, b);
}
