// Pub/Sub push authentication: the OIDC JWT in `Authorization: Bearer`, verified with jose
// against Google's JWKS (fetched from GOOGLE_JWKS_URL, cached in the isolate across requests).
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";

const ISSUERS = ["https://accounts.google.com", "accounts.google.com"];
const jwksByUrl = new Map<string, JWTVerifyGetKey>();

function jwks(url: string): JWTVerifyGetKey {
  let set = jwksByUrl.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { cooldownDuration: 30_000, cacheMaxAge: 3_600_000, timeoutDuration: 5_000 });
    jwksByUrl.set(url, set);
  }
  return set;
}

export interface GoogleOidcConfig {
  jwksUrl: string;
  audience: string;
  serviceAccounts: string[];
}

export type OidcResult = { ok: true; email: string } | { ok: false; reason: string };

export async function verifyPubSubToken(authorization: string | undefined, config: GoogleOidcConfig): Promise<OidcResult> {
  if (!authorization?.startsWith("Bearer ")) return { ok: false, reason: "missing_token" };
  if (!config.audience || config.serviceAccounts.length === 0) return { ok: false, reason: "not_configured" };
  try {
    const { payload } = await jwtVerify(authorization.slice(7), jwks(config.jwksUrl), {
      algorithms: ["RS256"],
      issuer: ISSUERS,
      audience: config.audience,
      clockTolerance: 30,
      requiredClaims: ["exp", "iat", "email"],
    });
    const email = typeof payload.email === "string" ? payload.email.toLowerCase() : "";
    if (!config.serviceAccounts.includes(email)) return { ok: false, reason: "email_not_allowed" };
    if (payload.email_verified !== true) return { ok: false, reason: "email_not_verified" };
    return { ok: true, email };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { ok: false, reason: typeof code === "string" ? code : "invalid_token" };
  }
}
