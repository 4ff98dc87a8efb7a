// Rich Graph notifications carry `validationTokens`: JWTs from Microsoft identity, issuer
// https://sts.windows.net/{tenantId}/, audience = our app id, azp/appid = Graph's change-tracking
// app. Inlet subscribes without resource data (clientState is the check) but verifies these when
// they are present.
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";

const GRAPH_NOTIFICATION_APP = "0bf30f3b-4a52-48df-9a82-234910c4a086";
const sets = new Map<string, JWTVerifyGetKey>();

export async function verifyValidationTokens(tokens: string[], config: { jwksUrl: string; appId: string; tenantIds: string[] }): Promise<boolean> {
  let set = sets.get(config.jwksUrl);
  if (!set) {
    set = createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5_000 });
    sets.set(config.jwksUrl, set);
  }
  const issuers = config.tenantIds.map((t) => `https://sts.windows.net/${t}/`);
  try {
    for (const token of tokens) {
      const { payload } = await jwtVerify(token, set, { algorithms: ["RS256"], audience: config.appId, issuer: issuers, clockTolerance: 60 });
      if (payload.azp !== GRAPH_NOTIFICATION_APP && payload.appid !== GRAPH_NOTIFICATION_APP) return false;
    }
    return true;
  } catch {
    return false;
  }
}
