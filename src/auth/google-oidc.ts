// Pub/Sub push authentication: the OIDC JWT in `Authorization: Bearer`, verified with jose
// against Google's JWKS (cached in the isolate, see remote-keys.ts): RS256, Google's issuer, our
// audience, an allowed service account with a verified email, and a token Google could have
// minted: issued no later than now (give or take the clock skew), valid for at most an hour.
import { jwtVerify } from "jose";
import type { GoogleOidcConfig } from "../env.ts";
import { remoteKeys } from "./remote-keys.ts";

const ISSUERS = ["https://accounts.google.com", "accounts.google.com"];
/** Clock skew allowed on exp, nbf and iat. */
export const CLOCK_SKEW_SECONDS = 30;
/** Google's push tokens live one hour (exp = iat + 3600). */
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;
/** Longer than any JWT Google signs (about 1 KB); a longer header is refused unparsed. */
export const MAX_TOKEN_LENGTH = 4096;

export type OidcResult = { ok: true; email: string } | { ok: false; reason: string };

export async function verifyPubSubToken(authorization: string | undefined, config: GoogleOidcConfig): Promise<OidcResult> {
  if (!authorization?.startsWith("Bearer ")) return { ok: false, reason: "missing_token" };
  const token = authorization.slice(7).trim();
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "malformed_token" };
  try {
    const { payload } = await jwtVerify(token, remoteKeys(config.jwksUrl).getKey, {
      algorithms: ["RS256"],
      issuer: ISSUERS,
      audience: config.audience,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["exp", "iat", "email"],
    });
    const now = Math.floor(Date.now() / 1000);
    const iat = payload.iat!;
    if (iat > now + CLOCK_SKEW_SECONDS) return { ok: false, reason: "issued_in_future" };
    if (payload.exp! - iat > MAX_TOKEN_LIFETIME_SECONDS) return { ok: false, reason: "lifetime_too_long" };
    const email = typeof payload.email === "string" ? payload.email.toLowerCase() : "";
    if (!config.serviceAccounts.includes(email)) return { ok: false, reason: "email_not_allowed" };
    if (payload.email_verified !== true) return { ok: false, reason: "email_not_verified" };
    return { ok: true, email };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { ok: false, reason: typeof code === "string" ? code : "invalid_token" };
  }
}
